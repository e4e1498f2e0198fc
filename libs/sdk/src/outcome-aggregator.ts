import { randomUUID } from 'node:crypto';
import { LATENCY_BUCKETS_MS, type OutcomeBatch, type OutcomeCohort } from '#rollgate/contracts';

export interface OutcomeAggregatorOptions {
  clientId: string;
  environment: string;
  /** Closed windows kept while they cannot be published (NATS down); the oldest go first. Default 30. */
  maxPendingWindows?: number;
  /** Distinct erroring units remembered per cohort and window. Default 10 000. */
  maxErrorUnits?: number;
  /** Distinct flags per window; outcomes of further flags are counted as dropped. Default 20 000. */
  maxFlags?: number;
}

class CohortAcc {
  exposures = 0;
  requests = 0;
  errors = 0;
  errorUnits: Set<string> | null = null;
  errorUnitsCapped = false;
  readonly latency: number[] = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latencySumMs = 0;
}

/** Boolean flags' two cohorts sit in fields; other variants in a map. */
class FlagAcc {
  on: CohortAcc | null = null;
  off: CohortAcc | null = null;
  others: Map<string, CohortAcc> | null = null;

  cohort(variant: string): CohortAcc {
    if (variant === 'on') return (this.on ??= new CohortAcc());
    if (variant === 'off') return (this.off ??= new CohortAcc());
    this.others ??= new Map();
    let acc = this.others.get(variant);
    if (acc === undefined) this.others.set(variant, (acc = new CohortAcc()));
    return acc;
  }

  *entries(): IterableIterator<[string, CohortAcc]> {
    if (this.on !== null) yield ['on', this.on];
    if (this.off !== null) yield ['off', this.off];
    if (this.others !== null) yield* this.others;
  }
}

interface ClosedWindow {
  start: number;
  end: number;
  flags: Map<string, FlagAcc>;
}

export function latencyBucket(latencyMs: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (latencyMs <= LATENCY_BUCKETS_MS[i]!) return i;
  return LATENCY_BUCKETS_MS.length;
}

/**
 * Per-window outcome and exposure counts, per flag and variant (the cohort). Windows are cut by `roll(now)` from
 * the client's timer, so evaluation never reads the clock; exposures arrive summed per window from the client's
 * per-flag counters (see RollgateClient), outcomes one `track` at a time.
 * Closed windows wait in a bounded queue until published: while NATS is down memory stays bounded and what
 * was thrown away is counted (`droppedWindows`, `droppedFlags`).
 */
export class OutcomeAggregator {
  private current = new Map<string, FlagAcc>();
  private currentStart: number;
  private readonly pending: ClosedWindow[] = [];
  private readonly maxPendingWindows: number;
  private readonly maxErrorUnits: number;
  private readonly maxFlags: number;
  /** Windows dropped since the last batches were taken; reported in the next batches. */
  droppedWindows = 0;
  /** Outcomes or exposures refused because the window already held `maxFlags` flags. */
  droppedFlags = 0;

  constructor(
    private readonly options: OutcomeAggregatorOptions,
    now: number,
  ) {
    this.currentStart = now;
    this.maxPendingWindows = options.maxPendingWindows ?? 30;
    this.maxErrorUnits = options.maxErrorUnits ?? 10_000;
    this.maxFlags = options.maxFlags ?? 20_000;
  }

  get pendingWindows(): number {
    return this.pending.length;
  }

  private flag(key: string, weight = 1): FlagAcc | undefined {
    let acc = this.current.get(key);
    if (acc === undefined) {
      if (this.current.size >= this.maxFlags) {
        this.droppedFlags += weight;
        return undefined;
      }
      this.current.set(key, (acc = new FlagAcc()));
    }
    return acc;
  }

  /**
   * Adds `count` exposures of the flag's variant to the current window. The client counts evaluations in per-flag
   * slots and adds them here once per window, right before `roll`; a flag refused by `maxFlags` adds `count` to
   * `droppedFlags`.
   */
  exposure(key: string, variant: string, count = 1): void {
    if (count <= 0) return;
    const acc = this.current.get(key) ?? this.flag(key, count);
    if (acc === undefined) return;
    acc.cohort(variant).exposures += count;
  }

  track(key: string, variant: string, unit: string | undefined, outcome: 'success' | 'error', latencyMs: number | undefined): void {
    const acc = this.flag(key);
    if (acc === undefined) return;
    const cohort = acc.cohort(variant);
    cohort.requests++;
    if (outcome === 'error') {
      cohort.errors++;
      if (unit !== undefined) {
        cohort.errorUnits ??= new Set();
        if (cohort.errorUnits.size < this.maxErrorUnits) cohort.errorUnits.add(unit);
        else if (!cohort.errorUnits.has(unit)) cohort.errorUnitsCapped = true;
      }
    }
    if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      cohort.latency[latencyBucket(latencyMs)]!++;
      cohort.latencySumMs += latencyMs;
    }
  }

  /** Closes the current window (if it holds anything) and starts the next at `now`. */
  roll(now: number): void {
    if (this.current.size > 0) {
      this.pending.push({ start: this.currentStart, end: now, flags: this.current });
      while (this.pending.length > this.maxPendingWindows) {
        this.pending.shift();
        this.droppedWindows++;
      }
      this.current = new Map();
    }
    this.currentStart = now;
  }

  /** Takes every closed window as batches (one per flag and window), oldest first. */
  takeBatches(): OutcomeBatch[] {
    const batches: OutcomeBatch[] = [];
    const dropped = this.droppedWindows;
    this.droppedWindows = 0;
    for (const window of this.pending.splice(0)) {
      for (const [flagKey, acc] of window.flags) {
        const cohorts: OutcomeCohort[] = [];
        for (const [variant, c] of acc.entries()) {
          cohorts.push({
            variant,
            exposures: c.exposures,
            requests: c.requests,
            errors: c.errors,
            errorUnits: c.errorUnits?.size ?? 0,
            errorUnitsCapped: c.errorUnitsCapped,
            latencyBuckets: c.latency,
            latencySumMs: c.latencySumMs,
          });
        }
        batches.push({
          schema: 1,
          batchId: randomUUID(),
          clientId: this.options.clientId,
          environment: this.options.environment,
          flagKey,
          windowStart: new Date(window.start).toISOString(),
          windowMs: window.end - window.start,
          cohorts,
          droppedWindows: dropped,
        });
      }
    }
    return batches;
  }
}
