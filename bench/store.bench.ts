/**
 * Event store throughput: appends per second with 1 and 8 concurrent writers (fsync on, one command = one
 * transaction with a command id), and replay speed of the gap-free "$all" reader. Run: npm run bench:store.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPool, PostgresEventStore, START, migrateEventStore, type AllPosition } from '#rollgate/event-store';

const adminUrl = process.env['ROLLGATE_ADMIN_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const replayEvents = Number(process.env['BENCH_REPLAY_EVENTS'] ?? 300_000);

const urlFor = (role: string, database: string): string => {
  const url = new URL(adminUrl);
  url.username = role;
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

async function appendRate(store: PostgresEventStore, writers: number): Promise<number> {
  let done = 0;
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      let version = 0;
      const streamId = `flag-bench-${writer}-${randomBytes(4).toString('hex')}`;
      while (Date.now() < deadline) {
        const result = await store.append(
          streamId,
          [{ type: 'RolloutChanged', data: { percentage: version % 100 }, metadata: { actor: 'bench' } }],
          { expectedVersion: version === 0 ? 'no_stream' : version, commandId: randomUUID() },
        );
        version = result.nextVersion;
        done++;
      }
    }),
  );
  return done / seconds;
}

async function seedForReplay(pool: pg.Pool, count: number): Promise<void> {
  const perCall = 1000;
  for (let offset = 0; offset < count; offset += perCall) {
    const n = Math.min(perCall, count - offset);
    await pool.query(
      `SELECT es.append_events($1, 'flag', NULL, NULL, NULL, $2::uuid[], array_fill('FlagToggled'::text, ARRAY[$3::int]),
              array_fill(1::smallint, ARRAY[$3::int]), array_fill('{"enabled":true,"environment":"production"}'::jsonb, ARRAY[$3::int]),
              array_fill('{"actor":"bench"}'::jsonb, ARRAY[$3::int]))`,
      [`flag-replay-${offset % 50}`, Array.from({ length: n }, () => randomUUID()), n],
    );
  }
}

async function replayRate(store: PostgresEventStore, batch: number): Promise<{ events: number; perSecond: number }> {
  let position: AllPosition = START;
  let events = 0;
  const started = process.hrtime.bigint();
  for (;;) {
    const page = await store.readAll(position, batch);
    if (page.length === 0) break;
    events += page.length;
    const last = page[page.length - 1]!;
    position = { transactionId: last.transactionId, globalPosition: last.globalPosition };
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return { events, perSecond: events / elapsed };
}

async function main(): Promise<void> {
  const database = `rollgate_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${database} OWNER rollgate_owner`);
  const pool = createPool(urlFor('rollgate_app', database), { max: 16 });
  try {
    await migrateEventStore(urlFor('rollgate_owner', database));
    const store = new PostgresEventStore(pool);
    const { rows } = await pool.query<{ fsync: string; synchronous_commit: string }>(
      "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit",
    );
    const rowsOut: [string, string][] = [
      ['postgres fsync / synchronous_commit', `${rows[0]!.fsync} / ${rows[0]!.synchronous_commit}`],
    ];
    for (const writers of [1, 8]) {
      const rate = await appendRate(store, writers);
      rowsOut.push([`append, ${writers} writer(s), 1 event/command`, `${Math.round(rate)} commands/s`]);
    }
    await seedForReplay(pool, replayEvents);
    for (const batch of [1000, 5000]) {
      const { events, perSecond } = await replayRate(store, batch);
      rowsOut.push([`replay $all, batch ${batch} (${events} events)`, `${Math.round(perSecond)} events/s`]);
    }
    console.log('| measure | result |\n|---|---|');
    for (const [measure, result] of rowsOut) console.log(`| ${measure} | ${result} |`);
  } finally {
    await pool.end();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}

await main();
