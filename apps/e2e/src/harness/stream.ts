import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsAccess } from '#rollgate/testing';

/** One message of a service's event stream: its sequence, its event id (Nats-Msg-Id) and the server's time. */
export interface StreamMessage {
  seq: number;
  eventId: string;
  timestampMs: number;
}

/**
 * Every message of `stream` in sequence order, read as admin through an ordered consumer; `minimum` waits (up
 * to `timeoutMs`) until the stream holds at least that many, e.g. the log's count while the publisher catches up.
 */
export async function streamMessages(nats: NatsAccess, stream: string, minimum = 0, timeoutMs = 60_000): Promise<StreamMessage[]> {
  const nc = await connect({ ...nats.options('admin'), servers: nats.url.split(','), name: 'e2e-stream-reader' });
  try {
    const jsm = await jetstreamManager(nc);
    const deadline = Date.now() + timeoutMs;
    let last = (await jsm.streams.info(stream)).state.last_seq;
    while (last < minimum && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      last = (await jsm.streams.info(stream)).state.last_seq;
    }
    const messages: StreamMessage[] = [];
    if (last === 0) return messages;
    const iterator = await (await jetstream(nc).consumers.get(stream)).consume();
    for await (const m of iterator) {
      messages.push({ seq: m.seq, eventId: m.headers?.get('Nats-Msg-Id') ?? '', timestampMs: m.info.timestampNanos / 1e6 });
      if (m.seq >= last) break;
    }
    await iterator.close();
    return messages;
  } finally {
    await nc.close();
  }
}
