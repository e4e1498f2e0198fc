import { subjects, type SdkStatusReport } from '#rollgate/contracts';
import type { EvaluationContext } from '#rollgate/evaluation';
import { drainSlots, type ExposureSink, type ExposureSlot } from './exposure-slots.js';
import type { ClientStats, FlagStore } from './flag-store.js';
import { OutcomeAggregator } from './outcome-aggregator.js';
import type { ClientConfig } from './rollgate.options.js';

export interface TrackOptions {
  outcome: 'success' | 'error';
  latencyMs?: number;
  /** The cohort; by default the variant this client serves the context. */
  variant?: string;
}

/** What the telemetry needs of the connection (the FlagFeed). */
export interface TelemetryLink {
  readonly isConnected: boolean;
  readonly isStale: boolean;
  canPublish(): boolean;
  publish(standardSubject: string, data: string): void;
}

/**
 * What the client reports back: outcome windows (tracked outcomes and the exposure slots' counts) to
 * `rg.outcomes.<env>.<flag>` or the `outcomeSink`, and the applied-position report on `rg.sdk.<env>.status`.
 */
export class Telemetry {
  readonly outcomes: OutcomeAggregator;
  readonly exposureSink: ExposureSink;
  private readonly unitAttribute: string;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly config: ClientConfig,
    private readonly store: FlagStore,
    private readonly slots: Map<string, ExposureSlot>,
    private readonly stats: ClientStats,
    private readonly link: TelemetryLink,
  ) {
    const options = config.options;
    this.outcomes = new OutcomeAggregator(
      {
        clientId: config.clientId,
        environment: config.environment,
        maxPendingWindows: options.outcomes?.maxPendingWindows,
        maxErrorUnits: options.outcomes?.maxErrorUnits,
      },
      config.clock(),
    );
    this.exposureSink = (options.trackExposures ?? true) ? this.outcomes : null;
    this.unitAttribute = options.outcomes?.unitAttribute ?? 'userId';
  }

  /** Arms the window flush and the periodic status report. */
  start(): void {
    const options = this.config.options;
    const windowMs = options.outcomes?.windowMs ?? 10_000;
    if (options.outcomes?.enabled !== false) {
      this.timers.push(setInterval(() => this.flush(), windowMs).unref());
    }
    const statusMs = options.statusIntervalMs ?? 5_000;
    if (statusMs > 0) this.timers.push(setInterval(() => this.publishStatus(), statusMs).unref());
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  /**
   * Runs `run` (sync or async), returns its result and tracks the outcome: success when it returns or resolves,
   * error when it throws or rejects (rethrown), with its latency.
   */
  timed<R>(key: string, variant: string, unit: string | undefined, run: () => R): R {
    const { outcomes, config } = this;
    const started = config.monotonic();
    let value: R;
    try {
      value = run();
    } catch (error) {
      outcomes.track(key, variant, unit, 'error', config.monotonic() - started);
      throw error;
    }
    if (value instanceof Promise) {
      return value.then(
        (resolved: unknown) => {
          outcomes.track(key, variant, unit, 'success', config.monotonic() - started);
          return resolved;
        },
        (error: unknown) => {
          outcomes.track(key, variant, unit, 'error', config.monotonic() - started);
          throw error;
        },
      ) as R;
    }
    outcomes.track(key, variant, unit, 'success', config.monotonic() - started);
    return value;
  }

  unitOf(context: EvaluationContext): string | undefined {
    const unit = context?.[this.unitAttribute] ?? context?.['targetingKey'];
    return typeof unit === 'string' || typeof unit === 'number' ? String(unit) : undefined;
  }

  /** Closes the current outcome window (with the exposures counted in it) and publishes every closed one. */
  flush(): number {
    drainSlots(this.slots, this.exposureSink);
    this.outcomes.roll(this.config.clock());
    return this.publishOutcomes();
  }

  private publishOutcomes(): number {
    const sink = this.config.options.outcomeSink;
    if (sink !== undefined) {
      const batches = this.outcomes.takeBatches();
      for (const batch of batches) sink(batch);
      this.stats.batchesPublished += batches.length;
      return batches.length;
    }
    // While disconnected closed windows wait in the aggregator's bounded queue, not in the NATS client's buffer.
    if (!this.link.canPublish()) return 0;
    const batches = this.outcomes.takeBatches();
    for (const batch of batches) {
      this.link.publish(subjects.outcomes(this.config.environment, batch.flagKey), JSON.stringify(batch));
    }
    this.stats.batchesPublished += batches.length;
    return batches.length;
  }

  statusReport(): SdkStatusReport {
    const { sync, appliedAt } = this.store;
    const last = sync.lastApplied;
    return {
      clientId: this.config.clientId,
      environment: this.config.environment,
      appliedPosition: sync.position,
      appliedEventId: last?.eventId ?? null,
      lastEventRecordedAt: last?.recordedAt ?? null,
      appliedAt: appliedAt === null ? null : new Date(appliedAt).toISOString(),
      state: this.link.isStale ? 'stale' : this.link.isConnected ? 'connected' : 'disconnected',
    };
  }

  publishStatus(): void {
    if (!this.link.canPublish()) return;
    this.link.publish(subjects.sdkStatus(this.config.environment), JSON.stringify(this.statusReport()));
  }
}
