import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import { PostgresEventStore } from '#rollgate/event-store';
import { sharedNats, createTestDatabase, type TestDatabase } from '#rollgate/testing';
import { EventPublisher } from './event-publisher.js';
import { ensureEventStream, eventStreamTarget } from './event-stream.js';
import { firstDifference, sleep, killRunningScripts, readableEventIds, spawnScript, streamEventIds, waitFor, type ChildRun } from './testing/harness.js';

const nats = sharedNats();
const TOTAL_EVENTS = 10_000;
const STREAMS = 40;
const WRITERS = 8;

describe(EventPublisher.name, () => {
  const dbs: TestDatabase[] = [];
  const pools: pg.Pool[] = [];
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  beforeAll(async () => {
    nc = await connect(nats.options());
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });

  afterEach(killRunningScripts);

  afterAll(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc?.close();
    for (const p of pools) await p.end();
    for (const d of dbs) await d.drop();
  });

  /** Appends TOTAL_EVENTS across STREAMS streams from WRITERS concurrent writers, 1–5 events per append. */
  async function appendConcurrently(store: PostgresEventStore, prefix: string): Promise<void> {
    let remaining = TOTAL_EVENTS;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (remaining > 0) {
          const n = Math.min(remaining, 1 + Math.floor(Math.random() * 5));
          remaining -= n;
          const streamId = `flag-${prefix}${Math.floor(Math.random() * STREAMS)}`;
          const correlationId = randomUUID();
          await store.append(
            streamId,
            Array.from({ length: n }, (_, i) => ({ type: 'RolloutChanged', data: { i }, metadata: { correlationId } })),
            { expectedVersion: 'any' },
          );
        }
      }),
    );
  }

  it.each(['sequential', 'pipelined'] as const)(
    'publishes every event exactly once in store order while being SIGKILLed (%s)',
    async (mode) => {
      // Its own database per run: the publisher mirrors the whole store into the stream.
      const db = await createTestDatabase();
      dbs.push(db);
      const pool = new pg.Pool({ connectionString: db.appUrl, max: WRITERS + 2 });
      pools.push(pool);
      const store = new PostgresEventStore(pool);
      const id = nuid.next().toLowerCase();
      const target = eventStreamTarget('flags', { stream: `RG_T_${id}`, subjectRoot: `rgt${id}.evt` });
      streams.push(target.stream);
      // A 100 ms dedupe window (the server's minimum): a restarted publisher that republished an already
      // stored event would store it twice, so only reconciliation from the stream keeps the log exact.
      await ensureEventStream(jsm, target, { duplicateWindowMs: 100 });
      const spawnPublisher = (extra: Record<string, string> = {}): ChildRun =>
        spawnScript('publisher-process.ts', {
          DATABASE_URL: db.appUrl,
          ...nats.env('admin'),
          RG_STREAM: target.stream,
          RG_SUBJECT_ROOT: target.subjectRoot,
          RG_MODE: mode,
          ...extra,
        });
      const kill = async (run: ChildRun): Promise<void> => {
        run.child.kill('SIGKILL');
        await run.exited;
      };

      const appending = appendConcurrently(store, mode === 'sequential' ? 's' : 'p');
      const crashes: string[] = [];

      // 1. Crashes between JetStream's ack and the checkpoint, at random event counts.
      for (let i = 0; i < 2; i++) {
        const run = spawnPublisher({ RG_CRASH_AFTER: String(50 + Math.floor(Math.random() * 400)) });
        const exit = await run.exited;
        expect(exit.signal).toBe('SIGKILL');
        crashes.push('after-publish');
      }
      // 2. SIGKILL from outside at random points.
      for (let i = 0; i < 4; i++) {
        const run = spawnPublisher();
        await sleep(300 + Math.random() * 900);
        await kill(run);
        crashes.push('random');
      }
      // 3. Two replicas at once (one leads by advisory lock), killed one after the other.
      const a = spawnPublisher();
      const b = spawnPublisher();
      await sleep(800 + Math.random() * 600);
      await kill(Math.random() < 0.5 ? a : b);
      await sleep(300 + Math.random() * 600);
      await kill(a.child.exitCode === null && a.child.signalCode === null ? a : b);
      crashes.push('replica-1', 'replica-2');

      await appending;
      const expected = await readableEventIds(store, TOTAL_EVENTS);
      expect(expected).toHaveLength(TOTAL_EVENTS);

      // 4. A last replica drains the rest, then shuts down gracefully.
      const last = spawnPublisher();
      await waitFor(
        `stream to hold ${TOTAL_EVENTS} messages`,
        async () => (await jsm.streams.info(target.stream)).state.messages >= TOTAL_EVENTS,
        90_000,
      );
      // Anything extra (a duplicate) would come before the publisher is done: wait until its checkpoint holds the
      // store's last event (it has published all of it and only polls from here on), then stop it, after which
      // nothing can reach the stream any more.
      const lastEvent = BigInt((await pool.query<{ p: string }>('SELECT max(global_position)::text AS p FROM es.events')).rows[0]!.p);
      await waitFor(
        'the publisher to checkpoint the last event',
        async () => (await store.loadCheckpoint('publisher:jetstream')).globalPosition === lastEvent,
        30_000,
      );
      last.child.kill('SIGTERM');
      expect((await last.exited).code).toBe(0);

      const published = await streamEventIds(js, jsm, target.stream);
      const diff = firstDifference(published, expected);
      if (diff >= 0) {
        throw new Error(
          `stream differs from store at #${diff} (stream ${published.length}, store ${expected.length}, ` +
            `distinct in stream ${new Set(published).size}): ${published[diff]} vs ${expected[diff]}`,
        );
      }
      expect(published).toEqual(expected);
      expect(crashes).toHaveLength(8);
    },
    240_000,
  );
});
