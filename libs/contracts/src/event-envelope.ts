import { ErrorCodes } from './error-codes.js';
import type { FlagEvent, SegmentEvent } from './flags/flag.events.js';

/** What the event store puts in `metadata`: who and why, and the chain of causes behind an event. */
export interface EventWireMetadata {
  actor?: string;
  reason?: string;
  commandId?: string;
  correlationId?: string;
  causationId?: string;
  [key: string]: unknown;
}

/**
 * The JSON body of a JetStream event message as published by the outbox (libs/messaging `encodeEvent`).
 * Positions stay decimal strings here: the SDK compares stream versions, never global positions, and a string
 * survives JSON without the 2^53 limit.
 */
export interface EventWire<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata: EventWireMetadata;
  streamId: string;
  streamVersion: number;
  eventId: string;
  schemaVersion: number;
  globalPosition: string;
  transactionId: string;
  recordedAt: string;
}

export type FlagEventWire = EventWire & FlagEvent;
export type SegmentEventWire = EventWire & SegmentEvent;

export class EventWireError extends Error {
  readonly code = ErrorCodes.badEvent;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventWireError';
  }
}

const decoder = new TextDecoder();

/** Parses and checks the envelope fields of one event message body; the `data` is trusted to match `type`. */
export function decodeEventWire(body: Uint8Array | string): EventWire {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === 'string' ? body : decoder.decode(body));
  } catch (cause) {
    throw new EventWireError('event message is not JSON', { cause });
  }
  if (typeof raw !== 'object' || raw === null) throw new EventWireError('event message is not an object');
  const r = raw as Record<string, unknown>;
  if (
    typeof r['type'] !== 'string' ||
    typeof r['streamId'] !== 'string' ||
    typeof r['eventId'] !== 'string' ||
    !Number.isSafeInteger(r['streamVersion']) ||
    (r['streamVersion'] as number) < 1 ||
    typeof r['globalPosition'] !== 'string' ||
    typeof r['recordedAt'] !== 'string'
  ) {
    throw new EventWireError('event message lacks envelope fields');
  }
  if (typeof r['metadata'] !== 'object' || r['metadata'] === null) r['metadata'] = {};
  return r as unknown as EventWire;
}
