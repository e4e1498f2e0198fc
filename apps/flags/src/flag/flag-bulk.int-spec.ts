import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  MAX_BULK_FLAGS,
  type BulkFlagCommandResult,
  type FlagAsOf,
  type FlagCommandResult,
  type FlagView,
  type Page,
  type Reply,
} from '#rollgate/contracts';
import type { EnvironmentConfig, FlagDefinition } from '#rollgate/evaluation';
import { startFlagsTestApp, type FlagsTestApp } from '../testing/flags-test-app.js';

const MAX_EVENT_BYTES = 16 * 1024;

/**
 * `configure-environments` (many flags' configuration of one environment in one command and one transaction) and
 * `as-of` (many flags as of a time in one read), against the real service, Postgres and NATS.
 */
describe('flags bulk commands (real Postgres and NATS)', () => {
  let testApp: FlagsTestApp;
  let nc: NatsConnection;
  let pool: pg.Pool;

  const request = async <T>(subject: string, body: unknown): Promise<Reply<T>> =>
    (await nc.request(subject, JSON.stringify(body), { timeout: 20_000 })).json<Reply<T>>();
  const envelope = (payload: unknown, commandId: string = randomUUID()) => ({ commandId, actor: 'tester', reason: 'bulk test', payload });
  const command = <T = FlagCommandResult>(verb: string, payload: unknown, commandId?: string) =>
    request<T>(`rg.cmd.flags.${verb}`, envelope(payload, commandId));
  const bulk = (payload: unknown, commandId?: string) => command<BulkFlagCommandResult>('configure-environments', payload, commandId);
  const ok = <T>(reply: Reply<T>): T => {
    if (!reply.ok) throw new Error(`expected ok, got ${JSON.stringify(reply.error)}`);
    return reply.result;
  };
  const errorOf = (reply: Reply<unknown>) => (reply.ok ? { code: 'OK', details: undefined } : reply.error);
  const logCounts = async () =>
    (await pool.query<{ events: string; commands: string }>('SELECT (SELECT count(*) FROM es.events)::text AS events, (SELECT count(*) FROM es.commands)::text AS commands')).rows[0];
  const get = async (key: string) => ok(await request<FlagView>('rg.qry.flags.get', { key })).flag;
  const config = (ppm: number, enabled = true): EnvironmentConfig => ({ enabled, rules: [], defaultRollout: { type: 'percentage', ppm } });
  const create = async (prefix: string, n: number): Promise<string[]> => {
    const keys = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    for (const key of keys) {
      ok(await command('create', { flag: { key, name: key, type: 'boolean', environments: { qa: config(100_000), production: config(0, false) } } }));
    }
    return keys;
  };

  beforeAll(async () => {
    testApp = await startFlagsTestApp({ ROLLGATE_FLAGS_SEED: 'false', ROLLGATE_MAX_EVENT_BYTES: String(MAX_EVENT_BYTES) });
    ({ nc } = testApp);
    pool = new pg.Pool({ connectionString: testApp.db.appUrl, max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await testApp?.close();
  });

  it('configures one environment of many flags in one transaction, each with its own command id, and reads the change back', async () => {
    const keys = await create('bulk-a', 5);
    const commandId = randomUUID();
    const result = ok(await bulk({ environment: 'qa', items: keys.map((key, i) => ({ key, config: config(i * 10_000) })) }, commandId));
    expect(result.items.map((item) => [item.key, item.version, item.appended, item.duplicate])).toEqual(keys.map((key) => [key, 2, 1, false]));
    for (const [i, key] of keys.entries()) {
      const flag = await get(key);
      expect(flag.environments['qa']).toEqual(config(i * 10_000));
      expect(flag.environments['production']).toEqual(config(0, false));
    }
    const { rows } = await pool.query<{ stream_id: string; tx: string; command_id: string; correlation_id: string }>(
      `SELECT stream_id, transaction_id::text AS tx, metadata->>'commandId' AS command_id, metadata->>'correlationId' AS correlation_id
         FROM es.events WHERE stream_id = ANY($1) AND stream_version = 2 ORDER BY global_position`,
      [keys.map((key) => `flag-${key}`)],
    );
    expect(rows.map((row) => row.stream_id)).toEqual(keys.map((key) => `flag-${key}`));
    expect(new Set(rows.map((row) => row.tx)).size).toBe(1);
    expect(rows.map((row) => row.command_id)).toEqual(keys.map((key) => `${commandId}:${key}`));
    expect(new Set(rows.map((row) => row.correlation_id))).toEqual(new Set([commandId]));
  });

  it('sent again, appends nothing and answers each item as a duplicate; the same item sent alone is a duplicate too', async () => {
    const keys = await create('bulk-b', 3);
    const items = keys.map((key, n) => ({ key, config: config(500_000), commandId: `rb:exec:1:${n}` }));
    const first = ok(await bulk({ environment: 'qa', items: items.slice(0, 2) }));
    const before = await logCounts();
    // A step resumed after a crash sends all of its items again, under another envelope id: only the third is new.
    const again = ok(await bulk({ environment: 'qa', items }));
    expect(again.items.map((item) => [item.key, item.duplicate, item.appended])).toEqual([
      [keys[0], true, 0],
      [keys[1], true, 0],
      [keys[2], false, 1],
    ]);
    expect(again.items.slice(0, 2).map((item) => item.position)).toEqual(first.items.map((item) => item.position));
    expect(Number((await logCounts())!.events)).toBe(Number(before!.events) + 1);
    const alone = ok(await command('configure-environment', { key: keys[0], environment: 'qa', config: config(500_000) }, 'rb:exec:1:0'));
    expect(alone).toMatchObject({ duplicate: true, version: 2 });
    // The same id with another configuration is another request.
    expect(errorOf(await bulk({ environment: 'qa', items: [{ ...items[0]!, config: config(1) }] })).code).toBe('FLAGS.IDEMPOTENCY_KEY_REUSED');
  });

  it('refuses the whole command when one item cannot be applied, appending nothing', async () => {
    const keys = await create('bulk-c', 2);
    const before = await logCounts();
    const missing = await bulk({ environment: 'qa', items: [{ key: keys[0], config: config(1) }, { key: 'bulk-c-missing', config: config(1) }] });
    expect(errorOf(missing).code).toBe('FLAGS.NOT_FOUND');
    const invalid = await bulk({ environment: 'qa', items: [{ key: keys[0], config: config(1) }, { key: keys[1], config: { enabled: true, defaultRollout: { type: 'percentage', ppm: -5 } } }] });
    expect(errorOf(invalid).code).toBe('GENERIC.VALIDATION');
    ok(await command('archive', { key: keys[1] }));
    const afterArchive = await logCounts();
    expect(errorOf(await bulk({ environment: 'qa', items: keys.map((key) => ({ key, config: config(1) })) })).code).toBe('FLAGS.ARCHIVED');
    expect(await logCounts()).toEqual(afterArchive);
    expect(Number(afterArchive!.events)).toBe(Number(before!.events) + 1);
    expect((await get(keys[0]!)).environments['qa']).toEqual(config(100_000));
  });

  it('refuses malformed bulk commands with GENERIC.VALIDATION before deciding anything', async () => {
    const [key] = await create('bulk-d', 1);
    const before = await logCounts();
    const cases: unknown[] = [
      { environment: 'qa', items: [] },
      { environment: 'qa', items: [{ key, config: config(1) }, { key, config: config(2) }] },
      { environment: 'qa', items: [{ key, config: config(1), commandId: 'x' }, { key: 'bulk-d-other', config: config(1), commandId: 'x' }] },
      { environment: 'qa', items: [{ key: 'Not A Key', config: config(1) }] },
      { environment: 'qa', items: [{ key, config: 'on' }] },
      { environment: 'qa', items: [{ key, config: config(1), extra: true }] },
      { environment: 'qa', items: Array.from({ length: MAX_BULK_FLAGS + 1 }, (_, i) => ({ key: `k-${i}`, config: config(1) })) },
      { items: [{ key, config: config(1) }] },
    ];
    for (const payload of cases) expect([JSON.stringify(payload).slice(0, 80), errorOf(await bulk(payload)).code]).toEqual([JSON.stringify(payload).slice(0, 80), 'GENERIC.VALIDATION']);
    expect(await logCounts()).toEqual(before);
  });

  it('refuses the command when one item would make an event larger than ROLLGATE_MAX_EVENT_BYTES', async () => {
    const keys = await create('bulk-e', 2);
    const before = await logCounts();
    const users = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);
    const big: EnvironmentConfig = { enabled: true, rules: [], defaultRollout: { type: 'user_list', users } };
    const reply = await bulk({ environment: 'qa', items: [{ key: keys[0], config: config(1) }, { key: keys[1], config: big }] });
    expect(errorOf(reply).code).toBe('FLAGS.EVENT_TOO_LARGE');
    expect(await logCounts()).toEqual(before);
  });

  it('answers many flags as of a time from one query, with one environment or whole', async () => {
    const keys = await create('bulk-f', 4);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const asOf = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    ok(await bulk({ environment: 'qa', items: keys.map((key) => ({ key, config: config(900_000) })) }));
    const page = ok(await request<Page<FlagAsOf>>('rg.qry.flags.as-of', { asOf, keys: [...keys, 'bulk-f-never'], environment: 'qa' }));
    expect(page.next).toBeNull();
    expect(page.items.map((item) => [item.key, item.flag?.environments])).toEqual([
      ...keys.map((key) => [key, { qa: config(100_000) }]),
      ['bulk-f-never', undefined],
    ]);
    expect(page.items.at(-1)!.flag).toBeNull();
    const whole = ok(await request<Page<FlagAsOf>>('rg.qry.flags.as-of', { asOf, keys: keys.slice(0, 1) }));
    expect(Object.keys((whole.items[0]!.flag as FlagDefinition).environments).sort()).toEqual(['production', 'qa']);
    expect(errorOf(await request('rg.qry.flags.as-of', { asOf: 'yesterday', keys })).code).toBe('GENERIC.VALIDATION');
    expect(errorOf(await request('rg.qry.flags.as-of', { asOf, keys: [] })).code).toBe('GENERIC.VALIDATION');
  });
});
