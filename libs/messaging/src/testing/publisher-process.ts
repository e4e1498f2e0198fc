/**
 * Test harness: one publisher replica as its own process, so tests can SIGKILL it. Configured by env:
 * DATABASE_URL (service role), NATS_URL, RG_SERVICE, RG_STREAM, RG_SUBJECT_ROOT, RG_MODE (sequential|pipelined),
 * RG_CRASH_AFTER (SIGKILL itself once this many events were acked by JetStream and before the batch's
 * checkpoint: the crash window that resuming from the checkpoint alone gets wrong).
 */
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { ServiceName } from '#rollgate/contracts';
import { PgLeaderElection, PostgresEventStore } from '#rollgate/event-store';
import { EventPublisher } from '../event-publisher.js';
import { natsLogin, natsServers } from '../nats-login.js';

const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
};

const databaseUrl = env('DATABASE_URL');
const crashAfter = Number(process.env['RG_CRASH_AFTER'] ?? 0);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const nats = { NATS_URL: env('NATS_URL'), NATS_USER: process.env['NATS_USER'], NATS_PASSWORD: process.env['NATS_PASSWORD'] };
const nc = await connect({ ...natsLogin(nats), servers: natsServers(nats), name: 'publisher-process' });
let published = 0;
const publisher = new EventPublisher({
  service: env('RG_SERVICE', 'flags') as ServiceName,
  store: new PostgresEventStore(pool),
  leaderElection: new PgLeaderElection(databaseUrl),
  js: jetstream(nc),
  jsm: await jetstreamManager(nc),
  target: { stream: env('RG_STREAM'), subjectRoot: env('RG_SUBJECT_ROOT') },
  mode: env('RG_MODE', 'sequential') === 'pipelined' ? 'pipelined' : 'sequential',
  batchSize: 64,
  pollIntervalMs: 20,
  leaderRetryMs: 100,
  metrics: {
    published(count) {
      published += count;
      if (crashAfter > 0 && published >= crashAfter) process.kill(process.pid, 'SIGKILL');
    },
  },
  logger: { log: (m) => console.log(m), warn: (m) => console.error(m), error: (m) => console.error(m) },
});
publisher.start();
console.log('started');

process.on('SIGTERM', () => {
  void (async () => {
    await publisher.stop();
    await nc.drain();
    await pool.end();
    process.exit(0);
  })();
});
