import { evolveStored, keyOfStream } from '#rollgate/commands';
import { EvaluationEngine, type FlagDefinition, type Segment } from '#rollgate/evaluation';
import { START, type AllPosition, type EventStore, type RecordedEvent } from '#rollgate/event-store';
import { WakeableLoop } from '#rollgate/platform';
import type { AppliedPositionWaiter } from '#rollgate/service-runtime';
import { flagAggregate, segmentAggregate } from '../flag/flag.aggregate.js';

export interface FlagFeedOptions {
  pollIntervalMs?: number;
  batchSize?: number;
  /** Engines kept warm; evaluations for further environments compile a throwaway engine. */
  maxEngines?: number;
  clock?: () => number;
  onError?: (error: unknown) => void;
}

const isAtOrAfter = (a: AllPosition, b: AllPosition): boolean =>
  a.transactionId > b.transactionId || (a.transactionId === b.transactionId && a.globalPosition >= b.globalPosition);

/**
 * Every flag and segment, kept current by tailing the log in its gap-free order, with one compiled
 * EvaluationEngine per environment asked for. A command this process handled waits (bounded) until the feed has
 * applied its events, so the caller's next evaluation sees its own write.
 */
export class FlagFeed implements AppliedPositionWaiter {
  private position: AllPosition = START;
  private readonly flags = new Map<string, FlagDefinition>();
  private readonly segments = new Map<string, Segment>();
  private readonly engines = new Map<string, EvaluationEngine>();
  private readonly changedSegments = new Set<string>();
  private waiters: Array<{ position: AllPosition; resolve: (applied: boolean) => void }> = [];
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxEngines: number;
  private readonly clock: () => number;
  private readonly loop: WakeableLoop;
  private polling: Promise<number> | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly options: FlagFeedOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.batchSize = options.batchSize ?? 1_000;
    this.maxEngines = options.maxEngines ?? 64;
    this.clock = options.clock ?? Date.now;
    this.loop = new WakeableLoop(
      async () => {
        await this.catchUp();
        return this.pollIntervalMs;
      },
      { onError: options.onError, errorDelayMs: this.pollIntervalMs },
    );
  }

  get appliedPosition(): AllPosition {
    return this.position;
  }

  flag(key: string): FlagDefinition | undefined {
    return this.flags.get(key);
  }

  /** Reads until caught up; returns how many events were applied. Concurrent callers share one read. */
  catchUp(): Promise<number> {
    this.polling ??= this.readUntilCaughtUp().finally(() => (this.polling = undefined));
    return this.polling;
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    for (const waiter of this.waiters) waiter.resolve(false);
    this.waiters = [];
  }

  async waitFor(position: AllPosition, timeoutMs: number): Promise<boolean> {
    if (isAtOrAfter(this.position, position)) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        resolve(false);
      }, timeoutMs);
      const done = (applied: boolean): void => {
        clearTimeout(timer);
        resolve(applied);
      };
      this.waiters.push({ position, resolve: done });
      this.loop.wake();
    });
  }

  /** The warm engine of an environment (created and loaded on first use). */
  engine(environment: string): EvaluationEngine {
    let engine = this.engines.get(environment);
    if (engine) return engine;
    engine = new EvaluationEngine(environment, { clock: this.clock });
    engine.load({ environment, flags: [...this.flags.values()], segments: [...this.segments.values()] });
    if (this.engines.size < this.maxEngines) this.engines.set(environment, engine);
    return engine;
  }

  private async readUntilCaughtUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const events = await this.store.readAll(this.position, this.batchSize);
      for (const event of events) this.applyEvent(event);
      this.compileSegments();
      if (events.length > 0) {
        const last = events[events.length - 1]!;
        this.position = { transactionId: last.transactionId, globalPosition: last.globalPosition };
        total += events.length;
        this.releaseWaiters();
      }
      if (events.length < this.batchSize) return total;
    }
  }

  private releaseWaiters(): void {
    const pending: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (isAtOrAfter(this.position, waiter.position)) waiter.resolve(true);
      else pending.push(waiter);
    }
    this.waiters = pending;
  }

  private applyEvent(event: RecordedEvent): void {
    const flagKey = keyOfStream(flagAggregate, event.streamId);
    if (flagKey !== undefined) {
      const next = evolveStored(flagAggregate, this.flags.get(flagKey) ?? null, event);
      if (next === null) return;
      // The flag may reference a segment changed earlier in the batch.
      this.compileSegments();
      this.flags.set(flagKey, next);
      for (const engine of this.engines.values()) {
        try {
          engine.upsert(next);
        } catch (error) {
          // The decider validates every definition; a stored one that does not compile serves the default.
          engine.remove(flagKey);
          this.options.onError?.(error);
        }
      }
      return;
    }
    const segmentKey = keyOfStream(segmentAggregate, event.streamId);
    if (segmentKey === undefined) return;
    const next = evolveStored(segmentAggregate, this.segments.get(segmentKey) ?? null, event);
    if (next === null) this.segments.delete(segmentKey);
    else this.segments.set(segmentKey, next);
    this.changedSegments.add(segmentKey);
  }

  /**
   * The segments changed since the last call, compiled into every engine once each: a member list comes as up to
   * 100 chunk events, and recompiling its 100 000 ids per chunk would cost seconds.
   */
  private compileSegments(): void {
    if (this.changedSegments.size === 0) return;
    const keys = [...this.changedSegments];
    this.changedSegments.clear();
    for (const key of keys) {
      const segment = this.segments.get(key);
      for (const engine of this.engines.values()) {
        try {
          if (segment === undefined) engine.removeSegment(key);
          else engine.upsertSegment(segment);
        } catch (error) {
          this.options.onError?.(error);
        }
      }
    }
  }
}
