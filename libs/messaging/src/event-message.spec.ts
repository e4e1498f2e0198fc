import { subjects } from '#rollgate/contracts';
import type { RecordedEvent } from '#rollgate/event-store';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { decodeEventMessage, encodeEvent, eventSubject, readEventHeaders } from './event-message.js';
import { eventStreamTarget } from './event-stream.js';

const event: RecordedEvent = {
  globalPosition: 9_007_199_254_740_993n, // > 2^53: must survive as a string on the wire
  transactionId: 18_446_744_073_709_551_000n,
  streamId: 'flag-auto_submit-enabled',
  streamVersion: 3,
  eventId: '0b0c7f64-4a8d-4bd2-9a0e-3c6f7f1f3e51',
  type: 'RolloutChanged',
  schemaVersion: 2,
  data: { percentage: 25 },
  metadata: { actor: 'alice', correlationId: 'c-1', causationId: 'cmd-1' },
  recordedAt: new Date('2026-11-24T10:42:00.000Z'),
};

describe('event messages', () => {
  it('publishes on the contracts subject, splitting the stream id at the first dash', () => {
    expect(eventSubject(eventStreamTarget('flags'), event)).toBe(
      subjects.event('flags', 'flag', 'auto_submit-enabled', 'RolloutChanged'),
    );
    expect(eventSubject(eventStreamTarget('flags', { subjectRoot: 'rgtx.evt' }), event)).toBe(
      'rgtx.evt.flags.flag.auto_submit-enabled.RolloutChanged',
    );
  });

  it('refuses a stream id that would break the subject into more tokens', () => {
    expect(() => eventSubject(eventStreamTarget('flags'), { ...event, streamId: 'flag-a.b' })).toThrow(/subject token/);
  });

  it('round-trips the envelope with bigint positions and sets the position headers', () => {
    const { body, headers } = encodeEvent(event);
    expect(headers.get('Rg-Tx')).toBe('18446744073709551000');
    expect(headers.get('Rg-Global-Position')).toBe('9007199254740993');
    expect(headers.get('Rg-Stream-Version')).toBe('3');
    expect(headers.get('Rg-Correlation-Id')).toBe('c-1');
    expect(headers.get('Rg-Causation-Id')).toBe('cmd-1');
    const decoded = decodeEventMessage({ data: new TextEncoder().encode(body) });
    expect(decoded).toEqual({
      type: event.type,
      data: event.data,
      metadata: event.metadata,
      streamId: event.streamId,
      streamVersion: 3,
      eventId: event.eventId,
      schemaVersion: 2,
      globalPosition: event.globalPosition,
      transactionId: event.transactionId,
      recordedAt: '2026-11-24T10:42:00.000Z',
    });
  });

  it('rejects a message that is not an event envelope', () => {
    expect(() => decodeEventMessage({ data: new TextEncoder().encode('{"data":1}') })).toThrow(/envelope/);
  });
  it('reads the outbox headers back as a claim, and nothing from a message without them', () => {
    const { headers } = encodeEvent(event);
    headers.set('Nats-Msg-Id', event.eventId);
    expect(readEventHeaders({ header: headers })).toEqual({
      eventId: event.eventId, streamId: event.streamId, streamVersion: 3,
      transactionId: event.transactionId, globalPosition: event.globalPosition,
    });
    expect(readEventHeaders({})).toBeNull();
    expect(readEventHeaders({ header: natsHeaders() })).toBeNull();
    const { headers: noId } = encodeEvent(event);
    expect(readEventHeaders({ header: noId })).toBeNull();
    const bad = natsHeaders();
    for (const [k, v] of headers) bad.set(k, v[0]!);
    bad.set('Rg-Tx', 'x1');
    expect(readEventHeaders({ header: bad })).toBeNull();
  });
});
