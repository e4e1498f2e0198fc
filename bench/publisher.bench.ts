/**
 * Outbox publisher throughput: append N events first, then time EventPublisher draining them into a fresh
 * JetStream stream, once per publishing mode. Run: node scripts/with-infra.mjs node dist/bench/publisher.bench.js
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { PgLeaderElection, PostgresEventStore, migrateEventStore } from '#rollgate/event-store';
import { EventPublisher, ensureEventStream, eventStreamTarget } from '#rollgate/messaging';
import { infraNatsAdmin } from './nats-auth.js';

const adminUrl = process.env['ROLLGATE_ADMIN_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const events = Number(process.env['BENCH_PUBLISH_EVENTS'] ?? 20_000);

const urlFor = (role: string, database: string): string => {
  const url = new URL(adminUrl);
  url.username = role;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
};

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function seed(pool: pg.Pool, count: number): Promise<void> {
  for (let offset = 0; offset < count; offset += 1000) {
    const n = Math.min(1000, count - offset);
    await pool.query(
      `SELECT es.append_events($1, 'flag', NULL, NULL, NULL, $2::uuid[], array_fill('RolloutChanged'::text, ARRAY[$3::int]),
              array_fill(1::smallint, ARRAY[$3::int]), array_fill('{"percentage":25,"environment":"production"}'::jsonb, ARRAY[$3::int]),
              array_fill('{"actor":"bench","correlationId":"bench"}'::jsonb, ARRAY[$3::int]))`,
      [`flag-bench${offset % 50}`, Array.from({ length: n }, () => randomUUID()), n],
    );
  }
}

async function main(): Promise<void> {
  await admin(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rollgate_owner') THEN CREATE ROLE rollgate_owner LOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rollgate_app') THEN CREATE ROLE rollgate_app LOGIN; END IF;
  END $$`);
  const database = `rollgate_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${database} OWNER rollgate_owner`);
  const appUrl = urlFor('rollgate_app', database);
  const pool = new pg.Pool({ connectionString: appUrl, max: 4 });
  const nc = await connect({ ...infraNatsAdmin(), name: 'publisher-bench' });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const streams: string[] = [];
  const rows: [string, string][] = [];
  try {
    await migrateEventStore(urlFor('rollgate_owner', database));
    await seed(pool, events);
    const store = new PostgresEventStore(pool);
    const modes = [
      { label: 'sequential (await each ack)', mode: 'sequential' as const, window: 1 },
      { label: 'pipelined, window 64, expect.lastMsgID', mode: 'pipelined' as const, window: 64 },
      { label: 'pipelined, window 256, expect.lastMsgID', mode: 'pipelined' as const, window: 256 },
    ];
    for (const [i, m] of modes.entries()) {
      const id = randomBytes(4).toString('hex');
      const target = eventStreamTarget('flags', { stream: `RG_BENCH_${id}`, subjectRoot: `rgbench${id}.evt` });
      streams.push(target.stream);
      await ensureEventStream(jsm, target);
      let published = 0;
      let finished!: () => void;
      const done = new Promise<void>((resolve) => (finished = resolve));
      const publisher = new EventPublisher({
        service: 'flags',
        store,
        leaderElection: new PgLeaderElection(appUrl),
        js,
        jsm,
        target,
        name: `publisher:bench-${i}`,
        mode: m.mode,
        window: m.window,
        batchSize: 1000,
        metrics: {
          published(count) {
            published += count;
            if (published >= events) finished();
          },
        },
      });
      const started = process.hrtime.bigint();
      publisher.start();
      await done;
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      await publisher.stop();
      const stored = (await jsm.streams.info(target.stream)).state.messages;
      if (stored !== events) throw new Error(`${m.label}: stream holds ${stored}, expected ${events}`);
      rows.push([`publish ${events} events, ${m.label}`, `${Math.round(events / elapsed)} events/s`]);
    }
    console.log('| measure | result |\n|---|---|');
    for (const [measure, result] of rows) console.log(`| ${measure} | ${result} |`);
  } finally {
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
    await pool.end();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}

await main();
