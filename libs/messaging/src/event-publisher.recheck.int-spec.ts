import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import pg from 'pg';
import { PostgresEventStore, type LeaderElection, type LeaderLease } from '#rollgate/event-store';
import { createTestDatabase, sharedNats, type TestDatabase } from '#rollgate/testing';
import { EventPublisher } from './event-publisher.js';
import { ensureEventStream, eventStreamTarget } from './event-stream.js';
import { storeEventIds, streamEventIds, waitFor } from './testing/harness.js';

/**
 * recheckLeadership (the service calls it on every NATS reconnect): the leader asks its lease. A lease that no
 * longer holds makes it step down and start over with a fresh lease, resuming from the stream; one that holds
 * keeps it leading without a new election. Either way the stream stays an exact copy of the store.
 */
const nats = sharedNats();

/** Leases whose answers to verify() the test sets; counts acquisitions and releases. */
class ScriptedElection implements LeaderElection {
  acquired = 0;
  released = 0;
  holds = true;

  async tryAcquire(name: string): Promise<LeaderLease> {
    this.acquired++;
    return {
      name,
      lost: new Promise<void>(() => undefined),
      verify: async () => this.holds,
      release: async () => {
        this.released++;
      },
    };
  }
}

let db: TestDatabase;
let pool: pg.Pool;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
const streams: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
  nc = await connect(nats.options());
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
  await nc?.close();
  await pool?.end();
  await db?.drop();
});

it.each([
  ['no longer holds', false, 2, 1],
  ['still holds', true, 1, 0],
])('a re-check whose lease %s (verify: %s): %i acquisitions, %i releases before the stop, the stream exact', async (_case, holds, acquired, released) => {
  const id = nuid.next().toLowerCase();
  const target = eventStreamTarget('flags', { stream: `RG_T_${id}`, subjectRoot: `rgt${id}.evt` });
  streams.push(target.stream);
  await ensureEventStream(jsm, target, { duplicateWindowMs: 100 });
  const store = new PostgresEventStore(pool);
  const election = new ScriptedElection();
  const publisher = new EventPublisher({
    service: 'flags',
    store,
    leaderElection: election,
    js,
    jsm,
    target,
    name: `publisher:${id}`,
    pollIntervalMs: 5,
    leaderRetryMs: 20,
    logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const append = (n: number): Promise<unknown> =>
    store.append(`flag-${id}`, Array.from({ length: n }, (_, i) => ({ type: 'RolloutChanged', data: { i } })), { expectedVersion: 'any' });
  const caughtUp = async (): Promise<boolean> => (await jsm.streams.info(target.stream)).state.messages === (await storeEventIds(store)).length;
  publisher.start();
  try {
    await append(20);
    await waitFor('the first events published', caughtUp, 10_000);
    election.holds = holds;
    publisher.recheckLeadership();
    await append(20);
    await waitFor('the later events published', caughtUp, 10_000);
    expect(publisher.status().leader).toBe(true);
  } finally {
    await publisher.stop();
  }
  expect([election.acquired, election.released - 1]).toEqual([acquired, released]);
  expect(await streamEventIds(js, jsm, target.stream)).toEqual(await storeEventIds(store));
});
