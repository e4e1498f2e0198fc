
/**
 * What SDKs and services publish about flags in use: outcome batches on `rg.obs.<env>.<flagKey>` and applied
 * positions on `rg.sdk.<env>.status`. Both are core NATS, at most once: a lost batch is a hole in telemetry,
 * never a wrong count.
 */

/** Upper bounds (inclusive, ms) of the latency histogram buckets; the last bucket is +Inf. Fixed, so batches add. */
export const LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

export interface OutcomeCounts {
  /** Tracked requests (success + error). */
  requests: number;
  errors: number;
  /** Distinct units with at least one error in the window (exact up to `errorUnitsCap`, then a lower bound). */
  errorUnits: number;
  /** True when distinct error units exceeded the cap and `errorUnits` is a lower bound. */
  errorUnitsCapped: boolean;
  /** Per LATENCY_BUCKETS_MS bound, plus one overflow bucket: length LATENCY_BUCKETS_MS.length + 1. */
  latencyBuckets: number[];
  latencySumMs: number;
}

export interface OutcomeCohort extends OutcomeCounts {
  /** The variant served (`on`/`off` for boolean flags, the variant key for experiments, `default` when unknown). */
  variant: string;
  /** Evaluations through the SDK that served this variant in the window. */
  exposures: number;
}

/** One flag's outcomes over one window `[windowStart, windowStart + windowMs)`, from one client. */
export interface OutcomeBatch {
  schema: 1;
  /** Unique per batch (a UUID): the receiver counts a batch once even if it arrives twice. */
  batchId: string;
  clientId: string;
  environment: string;
  flagKey: string;
  /** ISO-8601 start of the window. */
  windowStart: string;
  windowMs: number;
  /** Per variant/cohort. */
  cohorts: OutcomeCohort[];
  /** Windows this client dropped since its last published batch (pending cap reached while NATS was down). */
  droppedWindows: number;
}

/** `rg.qry.flags.outcomes`: one flag's outcome counts per cohort in [since, until), per window and in total. */
export const OUTCOME_QUERY = 'outcomes';

export const OUTCOME_GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type OutcomeGranularity = (typeof OUTCOME_GRANULARITIES)[number];


/** Counts of one cohort, summed over clients (and windows, for totals). */
export interface OutcomeTotals extends OutcomeCounts {
  environment: string;
  variant: string;
  exposures: number;
  /** errors / requests (0 without requests). */
  errorRate: number;
  /** Batches that contributed. */
  batches: number;
}

export interface OutcomeRow extends OutcomeTotals {
  /** Start of the window (windows are cut by each client; a batch lands in the bucket of its window start). */
  bucket: string;
}

export interface OutcomesResult {
  key: string;
  environment: string | null;
  granularity: OutcomeGranularity;
  since: string;
  until: string;
  /** Upper bounds of `latencyBuckets` (ms); the last bucket is +Inf. */
  latencyBucketsMs: readonly number[];
  rows: OutcomeRow[];
  totals: OutcomeTotals[];
}

/** `rg.sdk.<env>.status`: what one client has applied, for the propagation-lag histogram. */
export interface SdkStatusReport {
  clientId: string;
  environment: string;
  /** Global position of the last applied event (or the snapshot position); decimal string. */
  appliedPosition: string;
  appliedEventId: string | null;
  /** `recordedAt` of the last applied event (commit time), ISO-8601. */
  lastEventRecordedAt: string | null;
  /** When the client applied it, ISO-8601. */
  appliedAt: string | null;
  /** connected | disconnected | stale: lets the receiver tell a quiet client from a cut-off one. */
  state: 'connected' | 'disconnected' | 'stale';
}
