import type { EventMetadata } from '#rollgate/event-store';

/** Default limit on one event as published: 900 KiB, below NATS's default max_payload of 1 MiB. */
export const DEFAULT_MAX_EVENT_BYTES = 900 * 1024;

/**
 * What the outbox adds besides the data and the metadata (libs/messaging `encodeEvent` and JetStream's publish
 * headers): the envelope's fixed fields (event id, positions, time, versions) and the header names and values.
 * Generous on purpose; the strings the headers repeat (stream id, type, metadata ids) are counted on top.
 */
export const EVENT_ENVELOPE_ALLOWANCE = 1024;

/**
 * The most an event can take on the bus once published: JSON body plus headers. An upper bound, so an event that
 * passes here always fits a message of that size.
 */
export function eventWireBytes(streamId: string, event: { type: string; data: unknown; metadata?: EventMetadata }): number {
  const metadata = JSON.stringify(event.metadata ?? {});
  return (
    EVENT_ENVELOPE_ALLOWANCE +
    Buffer.byteLength(JSON.stringify(event.data ?? null)) +
    // The body carries the metadata once; the headers repeat its correlation and causation ids.
    2 * Buffer.byteLength(metadata) +
    // Body, headers and subject each name the stream and the type.
    3 * (Buffer.byteLength(streamId) + Buffer.byteLength(event.type))
  );
}
