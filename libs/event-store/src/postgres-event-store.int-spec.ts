import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '#rollgate/testing';
import { eventStoreContract } from './event-store.contract.js';
import { CommandIdReusedError, VersionConflictError } from './event-store.errors.js';
import { START, type AllPosition, type RecordedEvent } from './event-store.port.js';
import { createPool } from './create-pool.js';
import { PostgresEventStore, type SqlClient } from './postgres-event-store.js';
import { ProjectionRunner, type Projection } from './projection-runner.js';
import { LogTail, isAtOrAfter } from './log-tail.js';

let database: TestDatabase;
let appPool: pg.Pool;
let store: PostgresEventStore;

beforeAll(async () => {
  database = await createTestDatabase();
  appPool = createPool(database.appUrl, { max: 30 });
  store = new PostgresEventStore(appPool);
});

afterAll(async () => {
  await appPool.end();
  await database.drop();
});

eventStoreContract(PostgresEventStore.name, async () => ({ store }));

const toggled = (n: number) => ({ type: 'FlagToggled', data: { n } });
const positionOf = (event: RecordedEvent): AllPosition => ({
  transactionId: event.transactionId,
  globalPosition: event.globalPosition,
});

describe('the log is append-only for the service role', () => {
  let id: string;
  beforeAll(async () => {
    id = `flag-${randomUUID()}`;
    await store.append(id, [toggled(1)], { expectedVersion: 'no_stream', commandId: randomUUID() });
  });

  it.each([
    ['UPDATE', `UPDATE es.events SET data = '{"n":666}'`],
    ['DELETE', 'DELETE FROM es.events'],
    ['TRUNCATE', 'TRUNCATE es.events CASCADE'],
    ['UPDATE of applied commands', `UPDATE es.commands SET result_version = 0`],
    ['DELETE of applied commands', 'DELETE FROM es.commands'],
  ])('rejects %s', async (_label, sql) => {
    await expect(appPool.query(sql)).rejects.toMatchObject({ code: expect.stringMatching(/^(42501|23001)$/) });
    const events = await store.readStream(id);
    expect(events.map((e) => e.data)).toEqual([{ n: 1 }]);
  });

  it.each([
    ['disable the triggers', 'ALTER TABLE es.events DISABLE TRIGGER events_append_only'],
    ['drop the trigger', 'DROP TRIGGER events_append_only ON es.events'],
    ['skip triggers by replication role', 'SET session_replication_role = replica'],
    ['replace the trigger function', `CREATE OR REPLACE FUNCTION es.reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`],
  ])('cannot %s', async (_label, sql) => {
    await expect(appPool.query(sql)).rejects.toMatchObject({ code: '42501' });
  });

  it('holds no UPDATE, DELETE or TRUNCATE privilege on the log, even after trying to grant itself one', async () => {
    await appPool.query('GRANT UPDATE, DELETE, TRUNCATE ON es.events TO rollgate_app'); // a no-op with a warning
    const { rows } = await appPool.query<{ privilege: string; held: boolean }>(
      `SELECT p AS privilege, has_table_privilege('rollgate_app', 'es.events', p) AS held
         FROM unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE', 'INSERT', 'SELECT']) AS p`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.privilege, r.held]))).toEqual({
      UPDATE: false,
      DELETE: false,
      TRUNCATE: false,
      INSERT: true,
      SELECT: true,
    });
  });

  it('still rejects UPDATE even when the owner role tries it', async () => {
    const owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    try {
      await expect(owner.query(`UPDATE es.events SET data = '{}'`)).rejects.toMatchObject({ code: '23001' });
    } finally {
      await owner.end();
    }
  });
});

describe('optimistic concurrency', () => {
  it('lets exactly one of 20 concurrent appenders at the same expected version win', async () => {
    const id = `flag-${randomUUID()}`;
    await store.append(id, [toggled(0)], { expectedVersion: 'no_stream' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.append(id, [toggled(i + 1)], { expectedVersion: 1 })),
    );
    const winners = outcomes.filter((o) => o.status === 'fulfilled');
    const losers = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const loser of losers) expect(loser.reason).toBeInstanceOf(VersionConflictError);
    const { rows } = await appPool.query<{ versions: string; distinct_versions: string }>(
      'SELECT count(*) AS versions, count(DISTINCT stream_version) AS distinct_versions FROM es.events WHERE stream_id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ versions: '2', distinct_versions: '2' });
  });

  it('lets 20 concurrent creators of one stream produce exactly one creation', async () => {
    const id = `flag-${randomUUID()}`;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.append(id, [toggled(i)], { expectedVersion: 'no_stream' })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(await store.streamVersion(id)).toBe(1);
  });
});

describe('idempotent commands', () => {
  it.each([['an exact version', 1 as const], ['any version', 'any' as const]])(
    'appends a command sent concurrently 10 times once, at %s, and gives every caller the same result',
    async (_label, expectedVersion) => {
      const id = `flag-${randomUUID()}`;
      await store.append(id, [toggled(0)], { expectedVersion: 'no_stream' });
      const commandId = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.append(id, [toggled(1)], { expectedVersion, commandId })),
      );
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      for (const result of results) {
        expect({ version: result.nextVersion, position: result.firstPosition }).toEqual({
          version: results[0]!.nextVersion,
          position: results[0]!.firstPosition,
        });
      }
      expect(await store.streamVersion(id)).toBe(2);
    },
  );

  it('without its own lookup (commandIdLookedUp), a repeat is still caught in the transaction and answered as the first append', async () => {
    const id = `flag-${randomUUID()}`;
    const commandId = randomUUID();
    const first = await store.append(id, [toggled(0)], { expectedVersion: 'no_stream', commandId, commandIdLookedUp: true });
    const again = await Promise.all(
      Array.from({ length: 5 }, () => store.append(id, [toggled(1)], { expectedVersion: 'any', commandId, commandIdLookedUp: true })),
    );
    expect(again.every((r) => r.duplicate && r.nextVersion === first.nextVersion && r.firstPosition === first.firstPosition)).toBe(true);
    await expect(store.append(`flag-${randomUUID()}`, [toggled(1)], { expectedVersion: 'any', commandId, commandIdLookedUp: true })).rejects.toThrow(CommandIdReusedError);
    expect(await store.streamVersion(id)).toBe(1);
  });
});

describe('gap-free "$all" order', () => {
  it('neither skips nor repeats an event while a slow transaction holds an earlier position open', async () => {
    const start = await drain(START);
    const slowStream = `flag-${randomUUID()}`;
    const fastStream = `flag-${randomUUID()}`;
    const slow = await appPool.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(
        `SELECT * FROM es.append_events($1, 'flag', 0, NULL, NULL, ARRAY[$2::uuid], ARRAY['FlagCreated'],
                ARRAY[1::smallint], ARRAY['{"slow":true}'::jsonb], ARRAY['{}'::jsonb])`,
        [slowStream, randomUUID()],
      );
      const fast = await store.append(fastStream, [toggled(1)], { expectedVersion: 'no_stream' });
      const { rows } = await appPool.query<{ global_position: string }>(
        'SELECT global_position FROM es.events WHERE stream_id = $1',
        [fastStream],
      );
      expect(BigInt(rows[0]!.global_position)).toBe(fast.firstPosition);

      // The committed later event is held back instead of being read past the open, earlier position.
      const whileOpen = await store.readAll(start, 100);
      expect(whileOpen.map((e) => e.streamId)).not.toContain(fastStream);
      const naive = await appPool.query('SELECT stream_id FROM es.events WHERE global_position > $1', [
        start.globalPosition.toString(),
      ]);
      expect(naive.rows.map((r) => r.stream_id)).toEqual([fastStream]);

      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    const after = await untilReadable(
      () => store.readAll(start, 100),
      (events) => events.filter((e) => [slowStream, fastStream].includes(e.streamId)).length >= 2,
    );
    expect(after.filter((e) => [slowStream, fastStream].includes(e.streamId)).map((e) => e.streamId)).toEqual([slowStream, fastStream]);
  });

  it('delivers every event exactly once to a checkpointing reader during concurrent appends with slow commits', async () => {
    const start = await drain(START);
    const seen: string[] = [];
    let position = start;
    let writing = true;
    let doneWritingAt = Infinity;
    const written: string[] = [];
    const reader = (async () => {
      const deadline = () => Date.now() > doneWritingAt + 20_000;
      // Until every written event was read (or 20 s after the writers finished): see untilReadable.
      while (writing || (!written.every((id) => seen.includes(id)) && !deadline())) {
        const page = await store.readAll(position, 50);
        for (const event of page) seen.push(event.eventId);
        if (page.length) position = positionOf(page[page.length - 1]!);
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        for (let i = 0; i < 25; i++) {
          const eventId = randomUUID();
          const client = await appPool.connect();
          try {
            await client.query('BEGIN');
            await client.query(
              `SELECT * FROM es.append_events($1, 'flag', NULL, NULL, NULL, ARRAY[$2::uuid], ARRAY['FlagToggled'],
                      ARRAY[1::smallint], ARRAY['{}'::jsonb], ARRAY['{}'::jsonb])`,
              [`flag-gapfree-${writer}`, eventId],
            );
            // Random commit delays make later positions commit before earlier ones.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
            await client.query('COMMIT');
            written.push(eventId);
          } finally {
            client.release();
          }
        }
      }),
    );
    doneWritingAt = Date.now();
    writing = false;
    await reader;
    const mine = seen.filter((id) => written.includes(id));
    expect(new Set(mine).size).toBe(mine.length);
    expect(new Set(mine)).toEqual(new Set(written));
  });
});

describe(LogTail.name, () => {
  it('applies a position it is waited for as soon as an older open transaction ends, not at its idle poll', async () => {
    const tail = new LogTail(store, () => undefined, { pollIntervalMs: 120_000 });
    await tail.catchUp();
    tail.start();
    const blocker = await appPool.connect();
    let applied: Promise<boolean>;
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_current_xact_id()');
      const streamId = `flag-${randomUUID()}`;
      await store.append(streamId, [toggled(1)], { expectedVersion: 'no_stream' });
      const [event] = await store.readStream(streamId);
      applied = tail.waitFor(positionOf(event!), 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(isAtOrAfter(tail.appliedPosition, positionOf(event!))).toBe(false);
      await blocker.query('ROLLBACK');
    } finally {
      blocker.release();
    }
    try {
      expect(await applied).toBe(true);
    } finally {
      await tail.stop();
    }
  });
});

describe('multi-stream append (appendMany)', () => {
  const ids = (n: number): string[] => Array.from({ length: n }, () => `flag-${randomUUID()}`);

  it('is invisible to "$all" readers until it commits, then reads as one block in the order given', async () => {
    const start = await drain(START);
    const streams = ids(3);
    let whileOpen: RecordedEvent[] | undefined;
    await store.appendMany(
      streams.map((streamId, i) => ({ streamId, events: [toggled(i * 2), toggled(i * 2 + 1)], expectedVersion: 'no_stream' as const })),
      {
        // Inside the transaction: another connection reads "$all" and must see none of it yet.
        beforeCommit: async () => {
          whileOpen = await store.readAll(start, 100);
        },
      },
    );
    expect(whileOpen!.filter((e) => streams.includes(e.streamId))).toEqual([]);
    // Other test files' open transactions in the cluster may hold the committed block back for a moment.
    let after: RecordedEvent[] = [];
    for (let tries = 0; after.length < 6 && tries < 200; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      after = (await store.readAll(start, 100)).filter((e) => streams.includes(e.streamId));
    }
    expect(after.map((e) => [e.streamId, e.streamVersion, (e.data as { n: number }).n])).toEqual(
      streams.flatMap((streamId, i) => [
        [streamId, 1, i * 2],
        [streamId, 2, i * 2 + 1],
      ]),
    );
  });

  it('hands the inline hook every event of every stream, and a failing hook appends nothing', async () => {
    const streams = ids(2);
    const seen: string[] = [];
    await store.appendMany(
      streams.map((streamId) => ({ streamId, events: [toggled(1)], expectedVersion: 'no_stream' as const })),
      { beforeCommit: async (events) => void seen.push(...events.map((e) => e.streamId)) },
    );
    expect(seen).toEqual(streams);
    const more = ids(2);
    await expect(
      store.appendMany(
        more.map((streamId) => ({ streamId, events: [toggled(1)], expectedVersion: 'no_stream' as const, commandId: `${streamId}:c` })),
        { beforeCommit: async () => Promise.reject(new Error('projection failed')) },
      ),
    ).rejects.toThrow('projection failed');
    expect(await Promise.all(more.map((id) => store.streamVersion(id)))).toEqual([0, 0]);
    expect(await store.findCommand(`${more[0]}:c`)).toBeNull();
  });

  it('lets exactly one of 10 concurrent appenders at the same expected versions win, the others append nothing', async () => {
    const streams = ids(4);
    await store.appendMany(streams.map((streamId) => ({ streamId, events: [toggled(0)], expectedVersion: 'no_stream' as const })));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, writer) =>
        // Each writer names the streams in another order: the store locks them in one order, so none deadlocks.
        store.appendMany(
          (writer % 2 === 0 ? streams : [...streams].reverse()).map((streamId) => ({ streamId, events: [toggled(writer)], expectedVersion: 1 })),
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const failed of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) {
      expect(failed.reason).toBeInstanceOf(VersionConflictError);
    }
    const winner = outcomes.findIndex((o) => o.status === 'fulfilled');
    const after = await store.readStreams(streams);
    for (const events of after.values()) expect(events.map((e) => (e.data as { n: number }).n)).toEqual([0, winner]);
  });

  it('serializes overlapping appends with expected version any, in opposite stream orders, without a deadlock', async () => {
    const streams = ids(6);
    await Promise.all(
      Array.from({ length: 8 }, (_, writer) =>
        store.appendMany(
          (writer % 2 === 0 ? streams : [...streams].reverse()).map((streamId) => ({ streamId, events: [toggled(writer)], expectedVersion: 'any' as const })),
        ),
      ),
    );
    const after = await store.readStreams(streams);
    for (const events of after.values()) expect(events.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('rejects a command id that a concurrent append recorded meanwhile, leaving every other stream unchanged', async () => {
    const [a, b] = ids(2);
    const commandId = `${a}:race`;
    await store.append(a!, [toggled(1)], { expectedVersion: 'no_stream', commandId });
    // The caller claims it looked the ids up (as the command handler does): the transaction still catches it.
    await expect(
      store.appendMany(
        [
          { streamId: b!, events: [toggled(2)], expectedVersion: 'no_stream', commandId: `${b}:race` },
          { streamId: a!, events: [toggled(1)], expectedVersion: 1, commandId },
        ],
        { commandIdsLookedUp: true },
      ),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect(await store.streamVersion(b!)).toBe(0);
    expect(await store.streamVersion(a!)).toBe(1);
  });
});

describe(ProjectionRunner.name, () => {
  const table = `proj_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  const countsProjection = (name: string, target: string): Projection => ({
    name,
    async apply(events, tx: SqlClient) {
      for (const event of events) {
        await tx.query(
          `INSERT INTO ${target} (stream_id, events, last_version) VALUES ($1, 1, $2)
           ON CONFLICT (stream_id) DO UPDATE SET events = ${target}.events + 1, last_version = EXCLUDED.last_version`,
          [event.streamId, event.streamVersion],
        );
      }
    },
    async reset(tx: SqlClient) {
      await tx.query(`DELETE FROM ${target}`);
    },
  });

  beforeAll(async () => {
    const owner = new pg.Client({ connectionString: database.ownerUrl });
    await owner.connect();
    for (const suffix of ['live', 'rebuilt']) {
      await owner.query(
        `CREATE TABLE ${table}_${suffix} (stream_id text PRIMARY KEY, events int NOT NULL, last_version int NOT NULL)`,
      );
      await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table}_${suffix} TO rollgate_app`);
    }
    await owner.end();
  });

  it('builds a read model incrementally that equals one rebuilt from zero', async () => {
    const live = new ProjectionRunner(appPool, countsProjection(`${table}-live`, `${table}_live`), { batchSize: 7 });
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 6 }, (_, s) =>
          store.append(`flag-proj-${s}`, [toggled(round), toggled(round)], { expectedVersion: 'any' }),
        ),
      );
      await live.catchUp();
    }
    const total = async (): Promise<number> => Number((await appPool.query<{ n: string }>('SELECT count(*)::text AS n FROM es.events')).rows[0]!.n);
    const applied = async (suffix: string): Promise<number> =>
      Number((await appPool.query<{ n: string | null }>(`SELECT sum(events)::text AS n FROM ${table}_${suffix}`)).rows[0]!.n ?? 0);
    const events = await total();
    await untilReadable(async () => (await live.catchUp(), await applied('live')), (n) => n >= events);
    const rebuilt = new ProjectionRunner(appPool, countsProjection(`${table}-rebuilt`, `${table}_rebuilt`));
    await untilReadable(async () => (await rebuilt.catchUp(), await applied('rebuilt')), (n) => n >= events);
    await rebuilt.rebuild();
    const read = async (suffix: string) =>
      (await appPool.query(`SELECT * FROM ${table}_${suffix} ORDER BY stream_id`)).rows;
    const liveRows = await read('live');
    expect(liveRows.length).toBeGreaterThan(0);
    expect(await read('rebuilt')).toEqual(liveRows);
    const { rows } = await appPool.query('SELECT stream_id, count(*)::int AS events FROM es.events GROUP BY stream_id');
    expect(liveRows.map((r) => [r.stream_id, r.events])).toEqual(
      rows.sort((a, b) => (a.stream_id < b.stream_id ? -1 : 1)).map((r) => [r.stream_id, r.events]),
    );
  });

  it('rolls back the whole batch, checkpoint included, when applying fails', async () => {
    // An event of its own, so there is a batch to apply even when no other test appended one before.
    await store.append(`flag-${randomUUID()}`, [toggled(1)], { expectedVersion: 'no_stream' });
    const name = `${table}-failing`;
    const failing: Projection = {
      name,
      apply: async () => {
        throw new Error('boom');
      },
      reset: async () => undefined,
    };
    await expect(new ProjectionRunner(appPool, failing).runOnce()).rejects.toThrow('boom');
    expect(await store.loadCheckpoint(`projection:${name}`)).toEqual(START);
  });
});

describe('inline projections', () => {
  it('commit with the append or not at all', async () => {
    const id = `flag-${randomUUID()}`;
    const seen: number[] = [];
    await expect(
      store.append(id, [toggled(1)], {
        expectedVersion: 'no_stream',
        beforeCommit: async (events) => {
          seen.push(...events.map((e) => e.streamVersion));
          throw new Error('projection failed');
        },
      }),
    ).rejects.toThrow('projection failed');
    expect(seen).toEqual([1]);
    expect(await store.streamVersion(id)).toBe(0);
  });
});

/**
 * Repeats `read` until `done` holds or 20 s passed. The "$all" reader holds committed events back while any older
 * write transaction in the cluster runs, and other test files create and drop databases (long transactions) beside
 * this one: "every event was read" can only be checked once they are readable, not after one empty read.
 */
async function untilReadable<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function drain(from: AllPosition): Promise<AllPosition> {
  let position = from;
  for (;;) {
    const page = await store.readAll(position, 1000);
    if (!page.length) return position;
    position = positionOf(page[page.length - 1]!);
  }
}
