import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Counter, Histogram, Registry } from 'prom-client';
import { subjects } from '#rollgate/contracts';
import { createCounter, createGauge, createHistogram } from '#rollgate/platform';
import { checkStatusReport, PropagationTracker } from './propagation.tracker.js';

/** 1 ms to 30 s: loopback propagation sits in the first buckets, a polling peer or a cut-off client in the last. */
export const PROPAGATION_LAG_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * `rg.sdk.*.status` without a queue group: every replica hears every client, so each one's histogram and gauge
 * describe all clients (quantiles over the sum of replicas are unchanged; take `max` of the gauge).
 */
export class PropagationMonitor {
  private subscription: Subscription | null = null;
  private readonly tracker: PropagationTracker;
  private readonly reports: Counter<'result'>;
  private readonly lag: Histogram<'environment'>;
  private readonly clock: () => number;

  constructor(
    private readonly nc: NatsConnection,
    registry: Registry,
    options: { statusIntervalMs: number; clock?: () => number },
  ) {
    const clock = options.clock ?? Date.now;
    this.tracker = new PropagationTracker({ statusIntervalMs: options.statusIntervalMs });
    const tracker = this.tracker;
    this.lag = createHistogram(registry, {
      name: 'rollgate_flags_propagation_lag_seconds',
      help: 'Commit of a flag event (recordedAt) to its application in an SDK client (appliedAt), from SDK status reports',
      labelNames: ['environment'],
      buckets: PROPAGATION_LAG_BUCKETS_S,
    });
    createGauge(registry, {
      name: 'rollgate_flags_sdk_clients_connected',
      help: 'SDK clients that sent a status report within the last 3 status intervals',
      labelNames: ['environment'],
      collect() {
        this.reset();
        for (const [environment, count] of tracker.connected(clock())) this.set({ environment }, count);
      },
    });
    this.reports = createCounter(registry, {
      name: 'rollgate_flags_sdk_status_reports_total',
      help: 'SDK status reports received, by result: accepted, invalid',
      labelNames: ['result'],
    });
    this.clock = clock;
  }

  start(): void {
    if (this.subscription !== null) return;
    this.subscription = this.nc.subscribe(subjects.sdkStatus('*'), {
      callback: (error, msg) => {
        if (error !== null) return;
        let raw: unknown;
        try {
          raw = msg.json();
        } catch {
          raw = undefined;
        }
        const tokens = msg.subject.split('.');
        const report = tokens.length === 4 ? checkStatusReport(tokens[2]!, raw) : undefined;
        if (report === undefined) {
          this.reports.inc({ result: 'invalid' });
          return;
        }
        this.reports.inc({ result: 'accepted' });
        const lag = this.tracker.observe(report, this.clock());
        if (lag !== undefined) this.lag.observe({ environment: report.environment }, lag);
      },
    });
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    if (subscription !== null && !subscription.isClosed()) subscription.unsubscribe();
  }
}
