import type { AppendResult, EventStore, RecordedEvent, AllPosition } from '#rollgate/event-store';
import type { PgAppendOptions, SqlClient } from '#rollgate/event-store';

/** The store as the flags service uses it: the port, plus the Postgres store's in-transaction hook. */
export interface FlagEventStore extends EventStore {
  append(streamId: string, events: Parameters<EventStore['append']>[1], options: PgAppendOptions): Promise<AppendResult>;
}

/** Applied commands (es.commands): lets a repeated command id reply its first result before deciding again. */
export interface CommandLog {
  find(commandId: string): Promise<{ streamId: string; version: number; position: bigint } | null>;
}

/** A read model written in the append's own transaction (read-your-writes). */
export interface InlineProjection {
  apply(events: readonly RecordedEvent[], tx: SqlClient): Promise<void>;
}

/** Something that follows the log (the evaluation engines): the service waits for it to apply its own writes. */
export interface AppliedPositionWaiter {
  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean>;
}

/** Which flags' rules reference a segment (refuses removing a segment in use). */
export interface SegmentUsage {
  flagsUsing(segmentKey: string): Promise<string[]>;
}

export const PG_POOL = Symbol('PG_POOL');
export const EVENT_STORE = Symbol('EVENT_STORE');
export const COMMAND_LOG = Symbol('COMMAND_LOG');
export const INLINE_PROJECTION = Symbol('INLINE_PROJECTION');
export const POSITION_WAITER = Symbol('POSITION_WAITER');
export const SEGMENT_USAGE = Symbol('SEGMENT_USAGE');
export const CLOCK = Symbol('CLOCK');
export type Clock = () => Date;
