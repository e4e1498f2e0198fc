import { Injectable } from '@nestjs/common';
import type {
  CanaryHistory,
  CanaryMetrics as CanaryMetricsView,
  CanaryMetricsQuery,
  CanaryState,
  CanaryView,
  CohortCounts,
  CohortSummary,
} from '#rollgate/contracts';
import { CommandHandler } from '#rollgate/commands';
import { canaryAggregate } from '../canary/canary.aggregate.js';
import { CanaryError } from '../canary/canary.errors.js';
import { addCounts, detectionEstimate, emptyCounts, latencyQuantile, verdictOf } from '../judge/canary-judge.js';

export const viewOf = (state: CanaryState): CanaryView => {
  const verdict = verdictOf(state.judge, state.totals.increments);
  return { ...state, tests: verdict.tests, certified: state.certifiedAt !== undefined };
};

const summaryOf = (counts: CohortCounts, seconds: number): CohortSummary => ({
  exposures: counts.exposures,
  requests: counts.requests,
  errors: counts.errors,
  errorRate: counts.requests === 0 ? 0 : counts.errors / counts.requests,
  successRate: counts.requests === 0 ? 0 : 1 - counts.errors / counts.requests,
  errorUsers: counts.errorUnits,
  slowRequests: counts.slow,
  latencyP50Ms: latencyQuantile(counts.latencyBuckets, 0.5),
  latencyP95Ms: latencyQuantile(counts.latencyBuckets, 0.95),
  latencyP99Ms: latencyQuantile(counts.latencyBuckets, 0.99),
  throughputPerSecond: seconds > 0 ? counts.requests / seconds : 0,
});

/** What the canary's stream says: one canary now, its history, and its metrics over a time range. */
@Injectable()
export class CanaryViews {
  constructor(private readonly commands: CommandHandler) {}

  async get(id: string): Promise<CanaryView> {
    const { state } = await this.commands.load(canaryAggregate, id);
    if (state === null) throw CanaryError.notFound(id);
    return viewOf(state);
  }

  async history(id: string): Promise<CanaryHistory> {
    const { events } = await this.commands.load(canaryAggregate, id);
    if (events.length === 0) throw CanaryError.notFound(id);
    return {
      id,
      entries: events.map((event) => ({
        version: event.streamVersion,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
        recordedAt: event.recordedAt.toISOString(),
      })),
    };
  }

  /** Per-cohort counts of the windows recorded in [since, until), and the judge over the whole canary. */
  async metrics(query: CanaryMetricsQuery): Promise<CanaryMetricsView> {
    const { state, events } = await this.commands.load(canaryAggregate, query.id);
    if (state === null) throw CanaryError.notFound(query.id);
    const since = query.since === undefined ? -Infinity : Date.parse(query.since);
    const until = query.until === undefined ? Infinity : Date.parse(query.until);
    const canary = emptyCounts();
    const baseline = emptyCounts();
    let windows = 0;
    let seconds = 0;
    for (const event of events) {
      if (event.type !== 'CanaryWindowRecorded') continue;
      const { window } = event.data as {
        window: { start: string; end: string; canary: CohortCounts; baseline: CohortCounts };
      };
      const start = Date.parse(window.start);
      const end = Date.parse(window.end);
      if (end <= since || start >= until) continue;
      addCounts(canary, window.canary);
      addCounts(baseline, window.baseline);
      seconds += Math.max(0, end - start) / 1_000;
      windows++;
    }
    const verdict = verdictOf(state.judge, state.totals.increments);
    return {
      id: state.id,
      flagKey: state.flagKey,
      status: state.status,
      stage: state.stage,
      since: query.since ?? null,
      until: query.until ?? null,
      windows,
      seconds,
      canary: summaryOf(canary, seconds),
      baseline: summaryOf(baseline, seconds),
      tests: verdict.tests,
      certified: state.certifiedAt !== undefined,
      expectedDetectionSeconds: detectionEstimate(state.judge, canary, baseline, seconds),
    };
  }
}
