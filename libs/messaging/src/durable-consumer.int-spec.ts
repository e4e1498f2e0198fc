import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import { PgLeaderElection, PostgresEventStore } from '#rollgate/event-store';
import { sharedNats, createTestDatabase, type TestDatabase } from '#rollgate/testing';
import { migrateConsumerInbox } from './consumer-inbox.js';
import { startDurableConsumer } from './durable-consumer.js';
import { EventPublisher } from './event-publisher.js';
import { ensureEventStream, eventStreamTarget, streamFilter } from './event-stream.js';
import { sleep, killRunningScripts, spawnScript, waitFor, type ChildRun } from './testing/harness.js';

const nats = sharedNats();
const TOTAL_EVENTS = 2_000;

describe(startDurableConsumer.name, () => {
  let db: TestDatabase;
  let owner: pg.Pool;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const id = nuid.next().toLowerCase();
  const target = eventStreamTarget('flags', { stream: `RG_T_${id}`, subjectRoot: `rgt${id}.evt` });

  beforeAll(async () => {
    db = await createTestDatabase();
    owner = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });
    await migrateConsumerInbox(owner);
    await owner.query(`
      CREATE SCHEMA rg_test;
      CREATE TABLE rg_test.applied (event_id uuid NOT NULL, stream_id text NOT NULL, stream_version bigint NOT NULL);
      CREATE TABLE rg_test.counts (stream_id text PRIMARY KEY, n bigint NOT NULL);
      GRANT USAGE ON SCHEMA rg_test TO rollgate_app;
      GRANT SELECT, INSERT, UPDATE ON rg_test.applied, rg_test.counts TO rollgate_app;`);
    pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
    store = new PostgresEventStore(pool);
    nc = await connect(nats.options());
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, target);
  });

  afterEach(killRunningScripts);

  afterAll(async () => {
    await jsm?.streams.delete(target.stream).catch(() => undefined);
    await nc?.close();
    await pool?.end();
    await owner?.end();
    await db?.drop();
  });

  it('applies every event exactly once to its read model across SIGKILLs mid-batch', async () => {
    for (let i = 0; i < TOTAL_EVENTS; ) {
      const n = Math.min(TOTAL_EVENTS - i, 1 + Math.floor(Math.random() * 4));
      const events = Array.from({ length: n }, () => ({ type: 'RolloutChanged', data: {} }));
      await store.append(`flag-c${i % 25}`, events, { expectedVersion: 'any' });
      i += n;
    }
    const publisher = new EventPublisher({
      service: 'flags',
      store,
      leaderElection: new PgLeaderElection(db.appUrl),
      js,
      jsm,
      target: { stream: target.stream, subjectRoot: target.subjectRoot },
      mode: 'pipelined',
    });
    publisher.start();
    await waitFor('events in the stream', async () => (await jsm.streams.info(target.stream)).state.messages === TOTAL_EVENTS, 30_000);
    await publisher.stop();

    const durable = `test-counts-${id}`;
    const spawnConsumer = (extra: Record<string, string> = {}): ChildRun =>
      spawnScript('consumer-process.ts', {
        DATABASE_URL: db.appUrl,
        ...nats.env('admin'),
        RG_STREAM: target.stream,
        RG_FILTER: streamFilter(target),
        RG_DURABLE: durable,
        ...extra,
      });
    const outputs: string[] = [];
    // Crashes after the read-model commit and before the ack: the message comes back and must be skipped.
    for (let i = 0; i < 2; i++) {
      const run = spawnConsumer({ RG_CRASH_AFTER_COMMIT: String(20 + Math.floor(Math.random() * 200)) });
      expect((await run.exited).signal).toBe('SIGKILL');
      outputs.push(run.output());
    }
    // SIGKILL from outside at random points.
    for (let i = 0; i < 3; i++) {
      const run = spawnConsumer();
      await sleep(400 + Math.random() * 800);
      run.child.kill('SIGKILL');
      await run.exited;
      outputs.push(run.output());
    }
    const last = spawnConsumer();
    await waitFor(
      'the consumer to drain',
      async () => {
        const info = await jsm.consumers.info(target.stream, durable);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      90_000,
    );
    last.child.kill('SIGTERM');
    expect((await last.exited).code).toBe(0);
    outputs.push(last.output());

    const applied = await pool.query<{ total: string; distinct: string }>(
      'SELECT count(*) AS total, count(DISTINCT event_id) AS distinct FROM rg_test.applied',
    );
    expect(applied.rows[0]).toEqual({ total: String(TOTAL_EVENTS), distinct: String(TOTAL_EVENTS) });
    // The read model equals a fold of the store: events per stream.
    const fold = await pool.query<{ stream_id: string; n: string }>(
      'SELECT stream_id, count(*)::text AS n FROM es.events GROUP BY stream_id ORDER BY stream_id',
    );
    const counts = await pool.query<{ stream_id: string; n: string }>(
      'SELECT stream_id, n::text AS n FROM rg_test.counts ORDER BY stream_id',
    );
    expect(counts.rows).toEqual(fold.rows);
    // The crash-after-commit runs force redeliveries of already applied events; each was skipped.
    const duplicates = outputs.join('\n').match(/^duplicate /gm) ?? [];
    expect(duplicates.length).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
