import type { AllPosition, RecordedEvent, SqlClient } from '#rollgate/event-store';

export const PG_POOL = Symbol('PG_POOL');
export const EVENT_STORE = Symbol('EVENT_STORE');
export const CLOCK = Symbol('CLOCK');
export type Clock = () => Date;

/** A read model written in the append's own transaction (read-your-writes); a service provides at most one. */
export const INLINE_PROJECTION = Symbol('INLINE_PROJECTION');
export interface InlineProjection {
  apply(events: readonly RecordedEvent[], tx: SqlClient): Promise<void>;
}

/** Something that follows the log in this process: a command reply waits (bounded) until it applied the command. */
export const APPLIED_POSITION_WAITER = Symbol('APPLIED_POSITION_WAITER');
export interface AppliedPositionWaiter {
  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean>;
}
