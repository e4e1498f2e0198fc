import { Injectable } from '@nestjs/common';
import type { Counter, Gauge } from 'prom-client';
import { Registry } from 'prom-client';
import { CANARY_STATUSES, type CanaryState, type CanaryWindow } from '#rollgate/contracts';
import { createCounter, createGauge } from '#rollgate/platform';
import { standings } from '../judge/canary-judge.js';

export type BatchResult = 'accepted' | 'ignored' | 'invalid' | 'duplicate';
export type DecisionResult =
  'regression' | 'certified' | 'advanced' | 'promoted' | 'rolled_back' | 'inconclusive' | 'cancelled';

/**
 * Prometheus series of the canary service. Labels are bounded: the flag (one active canary per flag), the
 * cohort, the metric and test, the status; never a canary or user id.
 */
@Injectable()
export class CanaryMetrics {
  readonly batches: Counter<'result'>;
  readonly decisions: Counter<'decision'>;
  readonly stepFailures: Counter<'step'>;
  private readonly cohortRequests: Counter<'flag' | 'cohort'>;
  private readonly cohortErrors: Counter<'flag' | 'cohort'>;
  private readonly statistic: Gauge<'flag' | 'metric' | 'test'>;
  private readonly threshold: Gauge<'flag' | 'metric' | 'test'>;
  private readonly status: Gauge<'flag' | 'status'>;

  constructor(registry: Registry) {
    this.batches = createCounter(registry, {
      name: 'rollgate_canary_outcome_batches_total',
      help: 'Outcome batches on rg.obs.> (queue canary-svc), by result: accepted (a canary judges it), ignored (no active canary on the flag), invalid, duplicate',
      labelNames: ['result'],
    });
    this.decisions = createCounter(registry, {
      name: 'rollgate_canary_decisions_total',
      help: 'Canary outcomes and decisions by result: regression, certified, advanced, promoted, rolled_back, inconclusive, cancelled',
      labelNames: ['decision'],
    });
    this.stepFailures = createCounter(registry, {
      name: 'rollgate_canary_step_failures_total',
      help: 'Flag changes or rollback triggers of a canary step that failed (retried at the next look)',
      labelNames: ['step'],
    });
    this.cohortRequests = createCounter(registry, {
      name: 'rollgate_canary_cohort_requests_total',
      help: 'Requests recorded per canary cohort (canary, baseline), by flag',
      labelNames: ['flag', 'cohort'],
    });
    this.cohortErrors = createCounter(registry, {
      name: 'rollgate_canary_cohort_errors_total',
      help: 'Errors recorded per canary cohort (canary, baseline), by flag',
      labelNames: ['flag', 'cohort'],
    });
    this.statistic = createGauge(registry, {
      name: 'rollgate_canary_statistic_nats',
      help: "Log e-value of each of the flag's active canary tests (regression or safety, per metric)",
      labelNames: ['flag', 'metric', 'test'],
    });
    this.threshold = createGauge(registry, {
      name: 'rollgate_canary_threshold_nats',
      help: 'Level the log e-value must reach: ln(k/alpha) for a regression, ln(1/safeAlpha) for the certificate',
      labelNames: ['flag', 'metric', 'test'],
    });
    this.status = createGauge(registry, {
      name: 'rollgate_canary_status_info',
      help: "1 for the status of the flag's latest canary, 0 for the others",
      labelNames: ['flag', 'status'],
    });
  }

  window(state: CanaryState, window: CanaryWindow): void {
    this.cohortRequests.inc({ flag: state.flagKey, cohort: 'canary' }, window.canary.requests);
    this.cohortRequests.inc({ flag: state.flagKey, cohort: 'baseline' }, window.baseline.requests);
    this.cohortErrors.inc({ flag: state.flagKey, cohort: 'canary' }, window.canary.errors);
    this.cohortErrors.inc({ flag: state.flagKey, cohort: 'baseline' }, window.baseline.errors);
  }

  state(state: CanaryState): void {
    for (const status of CANARY_STATUSES)
      this.status.set({ flag: state.flagKey, status }, status === state.status ? 1 : 0);
    for (const test of standings(state.judge, state.totals.increments)) {
      const labels = { flag: state.flagKey, metric: test.metric, test: test.test };
      this.statistic.set(labels, Number.isFinite(test.logE) ? test.logE : 0);
      this.threshold.set(labels, test.threshold);
    }
  }
}
