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
 * Every message of `stream` in sequence order, read as admin through an ordered consumer; `minimum` reads again
 * (up to `timeoutMs`) until the stream holds at least that many, e.g. the log's count while the publisher catches up.
 */
export async function streamMessages(nats: NatsAccess, stream: string, minimum = 0, timeoutMs = 60_000): Promise<StreamMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const messages = await readStream(nats, stream);
      if (messages.length >= minimum || Date.now() > deadline) return messages;
    } catch (error) {
      // A cluster that just lost a node answers the JetStream API slowly for a while.
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function readStream(nats: NatsAccess, stream: string): Promise<StreamMessage[]> {
  const nc = await connect({ ...nats.options('admin'), servers: nats.url.split(','), name: 'e2e-stream-reader' });
  try {
    const last = (await (await jetstreamManager(nc, { timeout: 10_000 })).streams.info(stream)).state.last_seq;
    const messages: StreamMessage[] = [];
    if (last === 0) return messages;
    const iterator = await (await jetstream(nc, { timeout: 10_000 }).consumers.get(stream)).consume();
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
