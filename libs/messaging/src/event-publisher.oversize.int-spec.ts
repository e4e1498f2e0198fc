import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import { PgLeaderElection, PostgresEventStore } from '#rollgate/event-store';
import { createTestDatabase, type TestDatabase, sharedNats } from '#rollgate/testing';
import { EventPublisher } from './event-publisher.js';
import { ensureEventStream, eventStreamTarget } from './event-stream.js';
import { storeEventIds, streamEventIds, waitFor } from './testing/harness.js';

const nats = sharedNats();

/**
 * An event in the store that no NATS message can carry (an older row, from before the command core measured
 * events): the publisher used to retry it forever and publish nothing after it. It must park it (log, count) and
 * go on, in the middle of a batch and as the store's last event, and a restarted publisher must not stall on it.
 */
describe(`${EventPublisher.name} with events larger than max_payload`, () => {
  const dbs: TestDatabase[] = [];
  const pools: pg.Pool[] = [];
  const running: EventPublisher[] = [];
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  beforeAll(async () => {
    nc = await connect(nats.options());
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    for (const publisher of running) await publisher.stop();
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc?.close();
    for (const p of pools) await p.end();
    for (const d of dbs) await d.drop();
  });

  it.each(['sequential', 'pipelined'] as const)('parks them and keeps publishing every later event (%s)', async (mode) => {
    // Its own database per run: the publisher mirrors the whole store into the stream.
    const db = await createTestDatabase();
    dbs.push(db);
    const pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
    pools.push(pool);
    const store = new PostgresEventStore(pool);
    const id = nuid.next().toLowerCase();
    const target = eventStreamTarget('flags', { stream: `RG_T_${id}`, subjectRoot: `rgt${id}.evt` });
    streams.push(target.stream);
    await ensureEventStream(jsm, target, { duplicateWindowMs: 100 });
    const maxPayload = nc.info!.max_payload;
    const parked: number[] = [];
    const errors: string[] = [];
    const makePublisher = (): EventPublisher => {
      const publisher = new EventPublisher({
        service: 'flags',
        store,
        leaderElection: new PgLeaderElection(db.appUrl),
        js,
        jsm,
        target: { stream: target.stream, subjectRoot: target.subjectRoot },
        mode,
        pollIntervalMs: 20,
        leaderRetryMs: 100,
        metrics: { parked: (count) => parked.push(count) },
        logger: { log: () => undefined, warn: () => undefined, error: (m) => errors.push(m) },
      });
      running.push(publisher);
      return publisher;
    };
    const append = async (flag: string, data: unknown): Promise<string> => {
      const eventId = randomUUID();
      await store.append(`flag-${flag}`, [{ type: 'RolloutChanged', data, eventId, metadata: { correlationId: randomUUID() } }], {
        expectedVersion: 'any',
      });
      return eventId;
    };
    const huge = { users: 'x'.repeat(maxPayload + 1) };
    const expectedIds = async (parkedIds: readonly string[]): Promise<string[]> =>
      (await storeEventIds(store)).filter((eventId) => !parkedIds.includes(eventId));

    // Oversized events between others, then one as the store's last event.
    const oversized: string[] = [];
    await append('a', { i: 1 });
    oversized.push(await append('a', huge));
    await append('b', { i: 2 });
    await append('a', { i: 3 });
    oversized.push(await append('b', huge));
    let publisher = makePublisher();
    publisher.start();
    const published = async (): Promise<void> => {
      const expected = await expectedIds(oversized);
      await waitFor(
        `the stream to hold the ${expected.length} publishable events`,
        async () => (await streamEventIds(js, jsm, target.stream)).length >= expected.length,
        15_000,
      );
      expect(await streamEventIds(js, jsm, target.stream)).toEqual(expected);
    };
    await published();
    // Nothing stalled behind the last one: a later event still goes out, right after it.
    await append('c', { i: 4 });
    await published();
    expect(publisher.status().parked).toBe(2);

    // A restart walks past the parked rows again (the stream's last message is older than them) without stalling.
    await publisher.stop();
    oversized.push(await append('c', huge));
    await append('a', { i: 5 });
    publisher = makePublisher();
    publisher.start();
    await published();
    await publisher.stop();

    expect(parked.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
    expect(errors.filter((m) => /parked event/.test(m))).not.toHaveLength(0);
    expect(errors.find((m) => /parked event/.test(m))).toMatch(/exceed the server's max_payload/);
    expect(errors.filter((m) => /max_payload size exceeded|publish failed/.test(m))).toEqual([]);
  }, 60_000);
});
