import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import pg from 'pg';
import { PostgresEventStore, type LeaderElection, type LeaderLease } from '#rollgate/event-store';
import { createTestDatabase, sharedNats, type TestDatabase } from '#rollgate/testing';
import { EventPublisher } from './event-publisher.js';
import { ensureEventStream, eventStreamTarget } from './event-stream.js';
import { firstDifference, readableEventIds, streamEventIds, waitFor } from './testing/harness.js';

/**
 * Split brain: two publishers that both believe they lead (a partition, or a database failover: advisory locks
 * are not replicated, so the new primary grants the lock again while the old leader still runs). The lease cannot
 * stop them here, it always grants; the stream's expected-last-message-id fence must. The stream ends as an exact,
 * in-order copy of the store, every event once, although both published all along.
 */
const nats = sharedNats();
const EVENTS = 3_000;
const WRITERS = 6;

/** A lease that is always granted and never lost: both replicas lead. */
const everyoneLeads: LeaderElection = {
  tryAcquire: async (name): Promise<LeaderLease> => ({ name, lost: new Promise<void>(() => undefined), verify: async () => true, release: async () => undefined }),
};

let db: TestDatabase;
let pool: pg.Pool;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let stream: string | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.appUrl, max: WRITERS + 4 });
  pool.on('error', () => undefined); // idle clients ended by the database's drop
  nc = await connect(nats.options());
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  if (stream) await jsm.streams.delete(stream).catch(() => undefined);
  await nc?.close();
  await pool?.end();
  await db?.drop();
});

it.each(['sequential', 'pipelined'] as const)('two publishers that both lead never interleave or duplicate (%s)', async (mode) => {
  const id = nuid.next().toLowerCase();
  const target = eventStreamTarget('flags', { stream: `RG_T_${id}`, subjectRoot: `rgt${id}.evt` });
  stream = target.stream;
  // The server's shortest dedupe window: Nats-Msg-Id alone would not keep the copy exact.
  await ensureEventStream(jsm, target, { duplicateWindowMs: 100 });
  const store = new PostgresEventStore(pool);
  const warnings: string[] = [];
  const publishers = ['a', 'b'].map(
    (name) =>
      new EventPublisher({
        service: 'flags',
        store,
        leaderElection: everyoneLeads,
        js,
        jsm,
        target,
        name: `publisher:${id}`,
        mode,
        window: 16,
        pollIntervalMs: 5,
        leaderRetryMs: 20,
        logger: { log: () => undefined, warn: (m) => warnings.push(`${name}: ${m}`), error: (m) => warnings.push(`${name}: ${m}`) },
      }),
  );
  for (const publisher of publishers) publisher.start();
  let remaining = EVENTS;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      while (remaining > 0) {
        const n = Math.min(remaining, 1 + (remaining % 3));
        remaining -= n;
        await store.append(`flag-${id}${w}`, Array.from({ length: n }, (_, i) => ({ type: 'RolloutChanged', data: { i } })), { expectedVersion: 'any' });
        for (const publisher of publishers) publisher.wake();
      }
    }),
  );
  const expected = await readableEventIds(store, EVENTS);
  const inStream = async (): Promise<number> => (await jsm.streams.info(target.stream)).state.messages;
  await waitFor('the stream to hold every event', async () => (await inStream()) >= expected.length, 60_000);
  // Both keep running a while longer: a late duplicate would land now.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await Promise.all(publishers.map((p) => p.stop()));
  const published = await streamEventIds(js, jsm, target.stream);
  const diff = firstDifference(published, expected);
  if (diff >= 0) throw new Error(`stream differs from store at #${diff} (stream ${published.length}, store ${expected.length})`);
  expect(published).toEqual(expected);
  // Both really published: the fence turned the loser of each race away.
  expect(publishers.map((p) => p.status().published).every((n) => n > 0)).toBe(true);
  expect(warnings.some((w) => /wrong last msg ?id|checkpoint moved/i.test(w))).toBe(true);
  await jsm.streams.delete(target.stream);
  stream = undefined;
}, 120_000);
