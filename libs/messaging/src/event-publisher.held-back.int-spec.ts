import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import { PgLeaderElection, PostgresEventStore } from '#rollgate/event-store';
import { sharedNats, createTestDatabase, type TestDatabase } from '#rollgate/testing';
import { EventPublisher } from './event-publisher.js';
import { ensureEventStream, eventStreamTarget } from './event-stream.js';
import { sleep, streamEventIds, waitFor } from './testing/harness.js';

const nats = sharedNats();
/** Far longer than the test may take: only the retry after a wake with a position can publish in time. */
const IDLE_POLL_MS = 120_000;

/**
 * An event this process committed can be held back from the "$all" reader by any older transaction still open in
 * the cluster (ADR 0003). Woken with the event's position, the publisher reads again within milliseconds until the
 * event is readable, instead of sleeping its idle poll interval after the first empty read.
 */
describe(`${EventPublisher.name} woken for an event held back by an open transaction`, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let stream: string | undefined;
  let publisher: EventPublisher | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.appUrl, max: 6 });
    nc = await connect(nats.options());
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await publisher?.stop();
    if (stream) await jsm.streams.delete(stream).catch(() => undefined);
    await nc?.close();
    await pool?.end();
    await db?.drop();
  });

  it('publishes it once the older transaction ends, without waiting for the idle poll', async () => {
    const store = new PostgresEventStore(pool);
    const id = nuid.next().toLowerCase();
    const target = eventStreamTarget('flags', { stream: `RG_T_${id}`, subjectRoot: `rgt${id}.evt` });
    stream = target.stream;
    await ensureEventStream(jsm, target, { duplicateWindowMs: 100 });
    publisher = new EventPublisher({
      service: 'flags',
      store,
      leaderElection: new PgLeaderElection(db.appUrl),
      js: jetstream(nc),
      jsm,
      target: { stream: target.stream, subjectRoot: target.subjectRoot },
      pollIntervalMs: IDLE_POLL_MS,
      leaderRetryMs: 100,
      logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
    });
    publisher.start();
    await waitFor('the publisher to lead', async () => publisher!.status().leader, 10_000);
    // Let its first read find the empty log and go to its idle sleep.
    await sleep(200);

    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_current_xact_id()');
      await store.append(`flag-${randomUUID()}`, [{ type: 'FlagToggled', data: {} }], { expectedVersion: 'no_stream' });
      const [event] = await store.readAll({ transactionId: 0n, globalPosition: 0n }, 10).then(async (visible) => {
        expect(visible).toEqual([]); // held back behind the open transaction
        const { rows } = await pool.query<{ tx: string; pos: string }>('SELECT transaction_id::text AS tx, global_position::text AS pos FROM es.events');
        return rows.map((row) => ({ transactionId: BigInt(row.tx), globalPosition: BigInt(row.pos) }));
      });
      publisher.wake(event);
      // Several reads come back empty while the transaction stays open.
      await sleep(300);
      expect(await streamEventIds(jetstream(nc), jsm, target.stream)).toEqual([]);
      await blocker.query('ROLLBACK');
    } finally {
      blocker.release();
    }
    await waitFor('the held-back event in the stream', async () => (await streamEventIds(jetstream(nc), jsm, target.stream)).length === 1, 20_000);
  });
});
