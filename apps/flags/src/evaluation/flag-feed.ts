import { evolveStored, keyOfStream } from '#rollgate/commands';
import { EvaluationEngine, type FlagDefinition, type Segment } from '#rollgate/evaluation';
import { LogTail, type AllPosition, type EventStore, type RecordedEvent } from '#rollgate/event-store';
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

/**
 * Every flag and segment, kept current by tailing the log in its gap-free order, with one compiled
 * EvaluationEngine per environment asked for. A command this process handled waits (bounded) until the feed has
 * applied its events, so the caller's next evaluation sees its own write.
 */
export class FlagFeed implements AppliedPositionWaiter {
  private readonly flags = new Map<string, FlagDefinition>();
  private readonly segments = new Map<string, Segment>();
  private readonly engines = new Map<string, EvaluationEngine>();
  private readonly changedSegments = new Set<string>();
  private readonly maxEngines: number;
  private readonly clock: () => number;
  private readonly tail: LogTail;

  constructor(
    store: EventStore,
    private readonly options: FlagFeedOptions = {},
  ) {
    this.maxEngines = options.maxEngines ?? 64;
    this.clock = options.clock ?? Date.now;
    this.tail = new LogTail(store, (event) => this.applyEvent(event), {
      pollIntervalMs: options.pollIntervalMs ?? 50,
      batchSize: options.batchSize,
      afterBatch: () => this.compileSegments(),
      onError: options.onError,
    });
  }

  get appliedPosition(): AllPosition {
    return this.tail.appliedPosition;
  }

  flag(key: string): FlagDefinition | undefined {
    return this.flags.get(key);
  }

  /** Reads until caught up; returns how many events were applied. */
  catchUp(): Promise<number> {
    return this.tail.catchUp();
  }

  start(): void {
    this.tail.start();
  }

  stop(): Promise<void> {
    return this.tail.stop();
  }

  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean> {
    return this.tail.waitFor(position, timeoutMs);
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
