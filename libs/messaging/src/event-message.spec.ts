import { subjects } from '#rollgate/contracts';
import type { RecordedEvent } from '#rollgate/event-store';
import { decodeEventMessage, encodeEvent, eventSubject } from './event-message.js';
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
});
