/**
 * How long a reader of the event log waits after a read that came back empty. The "$all" reader (ADR 0003) returns
 * a committed event only once every older transaction in the PostgreSQL cluster has ended, so an event this process
 * just committed can be held back for a few milliseconds by any other writer (another service, another database).
 * A reader that knows such an event is still unread (`expecting`) reads again soon, 1, 2, 4 ... ms up to the idle
 * interval, instead of sleeping a whole idle interval after the first empty read.
 */
export class HeldBackBackoff {
  private nextMs: number;

  constructor(
    private readonly idleMs: number,
    private readonly firstMs = 1,
  ) {
    this.nextMs = firstMs;
  }

  /** The pause after an empty read. */
  pause(expecting: boolean): number {
    if (!expecting) {
      this.reset();
      return this.idleMs;
    }
    const ms = Math.min(this.nextMs, this.idleMs);
    this.nextMs = Math.min(this.nextMs * 2, this.idleMs);
    return ms;
  }

  /** After a read that returned events. */
  reset(): void {
    this.nextMs = this.firstMs;
  }
}
