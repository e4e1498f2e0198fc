import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import { EVENT_HEADERS, type ServiceName } from '#rollgate/contracts';
import type { EventMetadata, RecordedEvent } from '#rollgate/event-store';
import { MessagingError } from './messaging.errors.js';
import type { EventStreamTarget } from './event-stream.js';

/** The JSON body of every event message; positions as decimal strings on the wire, bigints once decoded. */
export interface EventEnvelope<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata: EventMetadata;
  streamId: string;
  streamVersion: number;
  eventId: string;
  schemaVersion: number;
  globalPosition: bigint;
  transactionId: bigint;
  recordedAt: string;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * `<root>.<service>.<aggregate>.<id>.<EventType>`; aggregate and id come from the stream id
 * `<aggregate>-<id>` split at the first '-' (flag keys may contain '-'; they never contain '.').
 */
export function eventSubject(target: EventStreamTarget, event: Pick<RecordedEvent, 'streamId' | 'type'>): string {
  const dash = event.streamId.indexOf('-');
  const aggregate = dash < 0 ? event.streamId : event.streamId.slice(0, dash);
  const id = dash < 0 ? '_' : event.streamId.slice(dash + 1);
  for (const token of [aggregate, id, event.type]) {
    if (!TOKEN.test(token)) {
      throw new MessagingError('MESSAGING.INVALID_SUBJECT', `cannot publish ${event.streamId}/${event.type}: '${token}' is not a subject token`);
    }
  }
  return `${target.subjectRoot}.${target.service satisfies ServiceName}.${aggregate}.${id}.${event.type}`;
}

export function encodeEvent(event: RecordedEvent): { body: string; headers: MsgHdrs } {
  const h = natsHeaders();
  h.set(EVENT_HEADERS.eventType, event.type);
  h.set(EVENT_HEADERS.schemaVersion, String(event.schemaVersion));
  h.set(EVENT_HEADERS.streamId, event.streamId);
  h.set(EVENT_HEADERS.streamVersion, String(event.streamVersion));
  h.set(EVENT_HEADERS.transactionId, event.transactionId.toString());
  h.set(EVENT_HEADERS.globalPosition, event.globalPosition.toString());
  h.set(EVENT_HEADERS.recordedAt, event.recordedAt.toISOString());
  const { correlationId, causationId } = event.metadata;
  if (typeof correlationId === 'string') h.set(EVENT_HEADERS.correlationId, correlationId);
  if (typeof causationId === 'string') h.set(EVENT_HEADERS.causationId, causationId);
  const body = JSON.stringify({
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    eventId: event.eventId,
    schemaVersion: event.schemaVersion,
    globalPosition: event.globalPosition.toString(),
    transactionId: event.transactionId.toString(),
    recordedAt: event.recordedAt.toISOString(),
  });
  return { body, headers: h };
}

/** What the outbox's headers claim about a stream message: enough to look the event up in the store. */
export interface EventHeaderClaim {
  eventId: string;
  streamId: string;
  streamVersion: number;
  transactionId: bigint;
  globalPosition: bigint;
}

const DECIMAL = /^[0-9]{1,20}$/;

/**
 * Reads the headers `encodeEvent` writes (plus `Nats-Msg-Id`, the event id). Null when any is missing or malformed:
 * such a message was not written by a Rollgate publisher. A non-null claim is still only a claim: anyone who can
 * publish into the stream can forge it, so the publisher checks it against the store before trusting it.
 */
export function readEventHeaders(msg: { header?: { get(key: string): string } | undefined }): EventHeaderClaim | null {
  const h = msg.header;
  if (!h) return null;
  const get = (key: string): string => {
    try {
      return h.get(key) ?? '';
    } catch {
      return '';
    }
  };
  const eventId = get('Nats-Msg-Id');
  const streamId = get(EVENT_HEADERS.streamId);
  const version = get(EVENT_HEADERS.streamVersion);
  const tx = get(EVENT_HEADERS.transactionId);
  const pos = get(EVENT_HEADERS.globalPosition);
  if (!eventId || !streamId || !DECIMAL.test(version) || !DECIMAL.test(tx) || !DECIMAL.test(pos)) return null;
  const streamVersion = Number(version);
  if (!Number.isSafeInteger(streamVersion) || streamVersion < 1) return null;
  return { eventId, streamId, streamVersion, transactionId: BigInt(tx), globalPosition: BigInt(pos) };
}

/** Decodes a JetStream event message (JsMsg or StoredMsg) into its envelope, positions as bigint. */
export function decodeEventMessage<Type extends string = string, Data = unknown>(msg: {
  data: Uint8Array;
}): EventEnvelope<Type, Data> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>;
  } catch (cause) {
    throw new MessagingError('MESSAGING.BAD_EVENT', 'event message is not JSON', { cause });
  }
  const { globalPosition, transactionId } = raw;
  if (typeof raw['type'] !== 'string' || typeof raw['streamId'] !== 'string' || typeof raw['eventId'] !== 'string' ||
    typeof globalPosition !== 'string' || typeof transactionId !== 'string' || typeof raw['streamVersion'] !== 'number') {
    throw new MessagingError('MESSAGING.BAD_EVENT', 'event message lacks envelope fields', { details: raw });
  }
  return {
    ...(raw as unknown as Omit<EventEnvelope<Type, Data>, 'globalPosition' | 'transactionId'>),
    globalPosition: BigInt(globalPosition),
    transactionId: BigInt(transactionId),
  };
}
