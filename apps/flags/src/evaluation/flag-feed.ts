import {
  evolveFlag,
  evolveSegment,
  type FlagEvent,
  type FlagState,
  type SegmentEvent,
  type SegmentState,
} from '#rollgate/contracts';
import { EvaluationEngine, type FlagDefinition, type Segment } from '#rollgate/evaluation';
import { START, streamKeyOf, streamTypeOf, type AllPosition, type EventStore, type RecordedEvent } from '#rollgate/event-store';
import type { AppliedPositionWaiter } from '../store/store.tokens.js';

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
  private waiters: Array<{ position: AllPosition; resolve: (applied: boolean) => void }> = [];
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxEngines: number;
  private readonly clock: () => number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private wakeRequested = false;
  private polling: Promise<number> | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly options: FlagFeedOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.batchSize = options.batchSize ?? 1_000;
    this.maxEngines = options.maxEngines ?? 64;
    this.clock = options.clock ?? Date.now;
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
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.catchUp();
        } catch (error) {
          this.options.onError?.(error);
        }
        // A waiter that arrived while the read was in flight may need an event that read could not see yet.
        if (this.wakeRequested) {
          this.wakeRequested = false;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollIntervalMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            this.wakeUp = undefined;
            this.wakeRequested = false;
            resolve();
          };
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
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
      this.wakeRequested = true;
      this.wakeUp?.();
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
    const type = streamTypeOf(event.streamId);
    const key = streamKeyOf(event.streamId);
    if (type === 'flag') {
      const next: FlagState = evolveFlag(this.flags.get(key) ?? null, { type: event.type, data: event.data } as FlagEvent, event.streamVersion);
      if (next === null) return;
      this.flags.set(key, next);
      for (const engine of this.engines.values()) {
        try {
          engine.upsert(next);
        } catch (error) {
          // The decider validates every definition; a stored one that does not compile serves the default.
          engine.remove(key);
          this.options.onError?.(error);
        }
      }
    } else if (type === 'segment') {
      const next: SegmentState = evolveSegment(this.segments.get(key) ?? null, { type: event.type, data: event.data } as SegmentEvent, event.streamVersion);
      if (next === null) this.segments.delete(key);
      else this.segments.set(key, next);
      for (const engine of this.engines.values()) {
        try {
          if (next === null) engine.removeSegment(key);
          else engine.upsertSegment(next);
        } catch (error) {
          this.options.onError?.(error);
        }
      }
    }
  }
}
