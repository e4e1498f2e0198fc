import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, nuid } from '@nats-io/nats-core';
import { PgLeaderElection, PostgresEventStore, type EventStore } from '#rollgate/event-store';
import { sharedNats, createTestDatabase, type TestDatabase } from '#rollgate/testing';
import { EventPublisher } from './event-publisher.js';
import { readEventHeaders } from './event-message.js';
import { ensureEventStream, eventStreamTarget, type EventStreamTarget } from './event-stream.js';
import { firstDifference, storeEventIds, waitFor } from './testing/harness.js';

const nats = sharedNats();

/**
 * Anyone who can publish into the service's stream adds messages the publisher did not write: one without headers,
 * and one forged to look like the next flag event (Rollgate headers, a far-ahead position, an unknown event id).
 * The publisher must keep mirroring the store exactly, and a restarted publisher must reconcile past them.
 */
describe(`${EventPublisher.name} with foreign messages in its stream`, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let nc: NatsConnection;
  let raw: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
    nc = await connect(nats.options());
    raw = await connect({ ...nats.options(), name: 'foreign-publisher' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await raw?.close();
    await nc?.close();
    await pool?.end();
    await db?.drop();
  });

  /** Every stream message in order, with whether it is a Rollgate message for an event the store holds. */
  async function streamMessages(target: EventStreamTarget, store: EventStore): Promise<{ own: string[]; foreign: number }> {
    const { state } = await jsm.streams.info(target.stream);
    const own: string[] = [];
    let foreign = 0;
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const msg = await jsm.streams.getMessage(target.stream, { seq });
      if (!msg) continue;
      const claim = readEventHeaders(msg);
      const [stored] = claim
        ? await store.readStream(claim.streamId, { fromVersion: claim.streamVersion, toVersion: claim.streamVersion })
        : [];
      if (claim && stored?.eventId === claim.eventId) own.push(claim.eventId);
      else foreign++;
    }
    return { own, foreign };
  }

  it('skips them, keeps publishing every store event in order, and reconciles past them after a restart', async () => {
    const store = new PostgresEventStore(pool);
    const id = nuid.next().toLowerCase();
    const target = eventStreamTarget('flags', { stream: `RG_T_${id}`, subjectRoot: `rgt${id}.evt` });
    streams.push(target.stream);
    await ensureEventStream(jsm, target, { duplicateWindowMs: 100 });
    const subject = (flag: string, type: string): string => `${target.subjectRoot}.flags.flag.${flag}.${type}`;

    const foreignCounts: number[] = [];
    const warnings: string[] = [];
    const makePublisher = (): EventPublisher =>
      new EventPublisher({
        service: 'flags',
        store,
        leaderElection: new PgLeaderElection(db.appUrl),
        js,
        jsm,
        target: { stream: target.stream, subjectRoot: target.subjectRoot },
        pollIntervalMs: 20,
        leaderRetryMs: 100,
        metrics: { foreign: (count) => foreignCounts.push(count) },
        logger: { log: () => undefined, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
      });
    let appended = 0;
    const append = async (flag: string, n: number): Promise<void> => {
      for (let i = 0; i < n; i++, appended++) {
        await store.append(`flag-${flag}`, [{ type: 'RolloutChanged', data: { i }, metadata: { correlationId: randomUUID() } }], {
          expectedVersion: 'any',
        });
      }
    };
    // The log's gap-free read holds back events behind any transaction still open in the cluster (other test
    // files run beside this one): wait for every appended event, not for what one read happened to see.
    const allPublished = async (): Promise<void> => {
      await waitFor(
        `the stream to hold all ${appended} store events`,
        async () => (await streamMessages(target, store)).own.length >= appended,
        20_000,
      );
    };
    /** A message with no headers at all. */
    const publishHeaderless = async (): Promise<void> => {
      await jetstream(raw).publish(subject('x', 'Garbage'), 'not an event');
    };
    /** A well-formed flag event with Rollgate headers at the next version and a far-ahead position. */
    const publishForged = async (flag: string): Promise<void> => {
      const [latest] = (await store.readStream(`flag-${flag}`)).slice(-1);
      const version = (latest?.streamVersion ?? 0) + 1;
      const eventId = randomUUID();
      const h = natsHeaders();
      h.set('Rg-Event-Type', 'FlagToggled');
      h.set('Rg-Schema-Version', '1');
      h.set('Rg-Stream-Id', `flag-${flag}`);
      h.set('Rg-Stream-Version', String(version));
      h.set('Rg-Tx', '999999999999');
      h.set('Rg-Global-Position', '999999999999');
      h.set('Rg-Recorded-At', new Date().toISOString());
      const body = JSON.stringify({
        type: 'FlagToggled', data: { environment: 'prod', enabled: true }, metadata: {}, streamId: `flag-${flag}`,
        streamVersion: version, eventId, schemaVersion: 1, globalPosition: '999999999999', transactionId: '999999999999',
        recordedAt: new Date().toISOString(),
      });
      await jetstream(raw).publish(subject(flag, 'FlagToggled'), body, { msgID: eventId, headers: h });
    };

    // 1. A running publisher with foreign messages landing between real appends.
    let publisher = makePublisher();
    publisher.start();
    await append('a', 5);
    await allPublished();
    await publishHeaderless();
    await append('a', 5);
    await allPublished();
    await publishForged('a');
    await append('b', 5);
    await allPublished();
    await publishHeaderless();
    await publishForged('b');
    await append('a', 3);
    await allPublished();

    // 2. Stop with foreign messages as the stream's last ones, append while it is down, restart.
    await publishForged('a');
    await publishHeaderless();
    await publisher.stop();
    await append('b', 4);
    await append('c', 2);
    publisher = makePublisher();
    publisher.start();
    await allPublished();
    await append('c', 3);
    await allPublished();
    await publisher.stop();

    const expected = await storeEventIds(store);
    expect(expected).toHaveLength(27);
    const { own, foreign } = await streamMessages(target, store);
    const diff = firstDifference(own, expected);
    if (diff >= 0) throw new Error(`stream differs from store at #${diff}: ${own[diff]} vs ${expected[diff]}`);
    expect(own).toEqual(expected);
    expect(foreign).toBe(6);
    // Each foreign message the publisher walked past is counted; the restarted instance walks past the last two.
    const counted = foreignCounts.reduce((a, b) => a + b, 0);
    expect(counted).toBeGreaterThanOrEqual(2);
    expect(counted).toBeLessThanOrEqual(6 + 2);
    expect(warnings.some((w) => /foreign message/.test(w))).toBe(true);
    expect(warnings.filter((w) => /reconcile failed/.test(w))).toEqual([]);
  }, 90_000);
});
