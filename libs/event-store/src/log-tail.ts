import { HeldBackBackoff, WakeableLoop } from '#rollgate/platform';
import { START, type AllPosition, type EventStore, type RecordedEvent } from './event-store.port.js';

export interface LogTailOptions {
  /** How often the log is read when nobody wakes the tail (ms). */
  pollIntervalMs: number;
  batchSize?: number;
  /** Runs after each batch is applied and before waiters hear of it (work best done once per batch). */
  afterBatch?: () => void;
  onError?: (error: unknown) => void;
}

/** a is at or after b in the log's gap-free (transaction, position) order. */
export const isAtOrAfter = (a: AllPosition, b: AllPosition): boolean =>
  a.transactionId > b.transactionId || (a.transactionId === b.transactionId && a.globalPosition >= b.globalPosition);

/**
 * Follows the whole log in memory: reads every event after the last one applied, in order, hands each to
 * `apply`, and does so again every `pollIntervalMs` or when woken. Callers can wait (bounded) until a position
 * is applied, so a process that just wrote sees its own write. What to keep from each event is the owner's.
 */
export class LogTail {
  private position: AllPosition = START;
  private waiters: Array<{ position: AllPosition; resolve: (applied: boolean) => void }> = [];
  private readonly batchSize: number;
  private readonly afterBatch: (() => void) | undefined;
  private readonly loop: WakeableLoop;
  private reading: Promise<number> | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly apply: (event: RecordedEvent) => void,
    options: LogTailOptions,
  ) {
    this.batchSize = options.batchSize ?? 1_000;
    this.afterBatch = options.afterBatch;
    const backoff = new HeldBackBackoff(options.pollIntervalMs);
    this.loop = new WakeableLoop(
      async () => {
        if ((await this.catchUp()) > 0) backoff.reset();
        // A waiter's position is committed but not yet readable (held back by an older transaction): look again soon.
        return backoff.pause(this.waiters.length > 0);
      },
      { onError: options.onError, errorDelayMs: options.pollIntervalMs },
    );
  }

  get appliedPosition(): AllPosition {
    return this.position;
  }

  /** Reads until caught up; returns how many events were applied. Concurrent callers share one read. */
  catchUp(): Promise<number> {
    this.reading ??= this.readUntilCaughtUp().finally(() => (this.reading = undefined));
    return this.reading;
  }

  start(): void {
    this.loop.start();
  }

  /** Reads now instead of at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    for (const waiter of this.waiters) waiter.resolve(false);
    this.waiters = [];
  }

  /** True once `position` is applied, false after `timeoutMs` or on stop. */
  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean> {
    if (isAtOrAfter(this.position, position)) return Promise.resolve(true);
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

  private async readUntilCaughtUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const events = await this.store.readAll(this.position, this.batchSize);
      for (const event of events) this.apply(event);
      this.afterBatch?.();
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
}
