/**
 * Test harness: a durable consumer applying events to a read model (`rg_test.applied`, `rg_test.counts`)
 * through `applyEventOnce`, as its own process so tests can SIGKILL it. Env: DATABASE_URL, NATS_URL, RG_STREAM,
 * RG_FILTER, RG_DURABLE, RG_CRASH_AFTER_COMMIT (SIGKILL itself after that many committed applications, before
 * the ack: the redelivery the inbox must absorb). Prints `duplicate <eventId>` for each skipped redelivery.
 */
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { applyEventOnce } from '../consumer-inbox.js';
import { startDurableConsumer } from '../durable-consumer.js';
import { decodeEventMessage } from '../event-message.js';
import { natsLogin, natsServers } from '../nats-login.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};
const durable = env('RG_DURABLE');
const crashAfter = Number(process.env['RG_CRASH_AFTER_COMMIT'] ?? 0);
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 2 });
const nats = { NATS_URL: env('NATS_URL'), NATS_USER: process.env['NATS_USER'], NATS_PASSWORD: process.env['NATS_PASSWORD'] };
const nc = await connect({ ...natsLogin(nats), servers: natsServers(nats), name: 'consumer-process' });
let applied = 0;

const consumer = await startDurableConsumer({
  js: jetstream(nc),
  jsm: await jetstreamManager(nc),
  stream: env('RG_STREAM'),
  durable,
  filterSubject: env('RG_FILTER'),
  ackWaitMs: 1000,
  nakDelayMs: 100,
  handler: async (msg) => {
    const event = decodeEventMessage(msg);
    const outcome = await applyEventOnce(pool, durable, event, async (tx) => {
      await tx.query('INSERT INTO rg_test.applied (event_id, stream_id, stream_version) VALUES ($1, $2, $3)', [
        event.eventId,
        event.streamId,
        event.streamVersion,
      ]);
      await tx.query(
        `INSERT INTO rg_test.counts (stream_id, n) VALUES ($1, 1)
         ON CONFLICT (stream_id) DO UPDATE SET n = rg_test.counts.n + 1`,
        [event.streamId],
      );
    });
    if (outcome === 'duplicate') console.log(`duplicate ${event.eventId}`);
    else if (crashAfter > 0 && ++applied >= crashAfter) process.kill(process.pid, 'SIGKILL');
  },
  logger: { log: (m) => console.log(m), warn: (m) => console.error(m), error: (m) => console.error(m) },
});
console.log('started');

process.on('SIGTERM', () => {
  void (async () => {
    await consumer.stop();
    await nc.drain();
    await pool.end();
    process.exit(0);
  })();
});
