import { InvalidAppendError } from './event-store.errors.js';
import type { NewEvent } from './event-store.port.js';

const STREAM_ID = /^[a-z][a-z0-9_]*-[A-Za-z0-9_.:-]{1,180}$/;
const EVENT_TYPE = /^[A-Z][A-Za-z0-9]*$/;

/** `flag-auto_submit_enabled` → `flag`: the aggregate name, also the stream type and a subject token. */
export const streamTypeOf = (streamId: string): string => streamId.slice(0, streamId.indexOf('-'));

/** `flag-auto_submit_enabled` → `auto_submit_enabled`. */
export const streamKeyOf = (streamId: string): string => streamId.slice(streamId.indexOf('-') + 1);

export function assertAppendable(streamId: string, events: readonly NewEvent[]): void {
  if (!STREAM_ID.test(streamId)) {
    throw new InvalidAppendError(`invalid stream id ${JSON.stringify(streamId)}: expected <aggregate>-<id>`);
  }
  if (events.length === 0) throw new InvalidAppendError('an append needs at least one event');
  for (const event of events) {
    if (!EVENT_TYPE.test(event.type)) {
      throw new InvalidAppendError(`invalid event type ${JSON.stringify(event.type)}: expected PascalCase`);
    }
  }
}

/** A multi-stream append names each stream once: two parts of one stream would need one expected version each. */
export function assertDistinctStreams(parts: readonly { streamId: string }[]): void {
  if (parts.length === 0) throw new InvalidAppendError('a multi-stream append needs at least one stream');
  const seen = new Set<string>();
  for (const { streamId } of parts) {
    if (seen.has(streamId)) throw new InvalidAppendError(`stream ${streamId} appears twice in one append`, { streamId });
    seen.add(streamId);
  }
}
