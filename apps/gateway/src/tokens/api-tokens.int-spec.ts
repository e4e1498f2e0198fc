import 'reflect-metadata';
import pg from 'pg';
import { CommandHandler } from '#rollgate/commands';
import { PostgresEventStore, ProjectionRunner } from '#rollgate/event-store';
import { createTestDatabase, type TestDatabase } from '#rollgate/testing';
import { TokenTable } from '../auth/token-table.js';
import { TokenUsageWriter } from '../auth/token-usage.js';
import type { CommandContext } from '../bus/command-context.js';
import { gatewayMigrations } from '../gateway.migrations.js';
import { assertOwnDatabase } from '../gateway.runtime.js';
import { ApiTokenProjection } from './api-token.projection.js';
import { ApiTokenQueries } from './api-token.query.js';
import { ApiTokenService } from './api-token.service.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

/**
 * API tokens on the real Postgres, as the gateway wires them: the kit's event store and command core in the
 * gateway's own database, the inline read model, the in-memory table following the log, the batched last use.
 */
describe('API tokens (real Postgres)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let store: PostgresEventStore;
  let now: number;
  let table: TokenTable;
  let service: ApiTokenService;
  let queries: ApiTokenQueries;
  let sequence = 0;
  const clock = (): Date => new Date(now);
  const ctx = (actor = 'admin', overrides: Partial<CommandContext> = {}): CommandContext => ({
    commandId: `int-${++sequence}`,
    actor,
    requestHash: `http-sha256:int-${sequence}`,
    correlationId: `corr-${sequence}`,
    ...overrides,
  });
  /** A gateway replica that starts now: its table is whatever the log says. */
  const freshTable = async (): Promise<TokenTable> => {
    const replica = new TokenTable(store, { clock: () => now });
    await replica.catchUp();
    return replica;
  };

  beforeAll(async () => {
    db = await createTestDatabase(gatewayMigrations);
    pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
    store = new PostgresEventStore(pool);
    const projection = new ApiTokenProjection();
    table = new TokenTable(store, { clock: () => now });
    service = new ApiTokenService(
      new CommandHandler({ store, inline: (events, tx) => projection.apply(events, tx) }),
      table,
      clock,
    );
    queries = new ApiTokenQueries(pool, clock, table);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  beforeEach(() => {
    now = T0;
  });

  it('scopes a client token to its environment in the table, the read model and the log', async () => {
    const issued = await service.issue({ name: 'web', role: 'client', environment: 'staging' }, ctx());
    expect(table.verify(issued.secret!)).toEqual({ ok: true, principal: { id: `token:${issued.token.id}`, roles: ['client'], environment: 'staging' } });
    expect(await queries.get(issued.token.id)).toMatchObject({ role: 'client', environment: 'staging' });
    const stored = await pool.query<{ data: { environment: string } }>('SELECT data FROM es.events WHERE stream_id = $1', [`token-${issued.token.id}`]);
    expect(stored.rows[0]!.data.environment).toBe('staging');
  });

  it('issues: the secret verifies, the list shows its prefix and who issued it, the log and the read model hold no secret', async () => {
    const issued = await service.issue({ name: 'ci-reader', role: 'reader' }, ctx());
    const secret = issued.secret!;
    expect(table.verify(secret)).toEqual({
      ok: true,
      principal: { id: `token:${issued.token.id}`, roles: ['reader'] },
    });
    expect(await queries.get(issued.token.id)).toEqual({
      id: issued.token.id,
      name: 'ci-reader',
      role: 'reader',
      prefix: `rg_${issued.token.id}`,
      status: 'active',
      created_at: new Date(T0).toISOString(),
      expires_at: null,
      last_used_at: new Date(T0).toISOString(),
      issued_by: 'admin',
      environment: null,
      revoked_at: null,
      revoked_by: null,
      version: 1,
    });
    const { tokens } = await queries.list({});
    expect(tokens.map((t) => t.prefix)).toContain(`rg_${issued.token.id}`);
    const secretPart = secret.slice(-43);
    const everything = await pool.query<{ dump: string }>(
      `SELECT (SELECT json_agg(e)::text FROM es.events e) || (SELECT json_agg(t)::text FROM gateway.api_tokens t) AS dump`,
    );
    expect(everything.rows[0]!.dump).not.toContain(secretPart);
    const stored = await pool.query<{ data: { tokenHash: string }; metadata: { actor: string } }>(
      'SELECT data, metadata FROM es.events WHERE stream_id = $1',
      [`token-${issued.token.id}`],
    );
    expect(stored.rows[0]!.data.tokenHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(stored.rows[0]!.metadata.actor).toBe('admin');
    expect(Object.keys((await pool.query('SELECT * FROM gateway.api_tokens LIMIT 1')).rows[0]!)).not.toContain(
      'token_hash',
    );
  });

  it('revokes: refused here at once and by a replica after its poll; the audit shows who issued and who revoked', async () => {
    const replica = await freshTable();
    const issued = await service.issue({ name: 'to-revoke', role: 'operator' }, ctx('admin'));
    await replica.catchUp();
    expect(replica.verify(issued.secret!)).toMatchObject({ ok: true });
    now += 1_000;
    await service.revoke(issued.token.id, ctx('token:1111111111111111', { reason: 'leaked' }));
    expect(table.verify(issued.secret!)).toEqual({ ok: false, refusal: 'revoked' });
    await replica.catchUp();
    expect(replica.verify(issued.secret!)).toEqual({ ok: false, refusal: 'revoked' });
    expect(await queries.get(issued.token.id)).toMatchObject({
      status: 'revoked',
      issued_by: 'admin',
      revoked_by: 'token:1111111111111111',
      revoked_at: new Date(T0 + 1_000).toISOString(),
      version: 2,
    });
    const { entries } = await queries.audit({ key: issued.token.id });
    expect(entries.map((e) => [e.event_type, e.actor, e.version])).toEqual([
      ['ApiTokenIssued', 'admin', 1],
      ['ApiTokenRevoked', 'token:1111111111111111', 2],
    ]);
    expect(entries[1]).toMatchObject({
      reason: 'leaked',
      change: { token_id: issued.token.id, revoked_by: 'token:1111111111111111' },
      before: { revoked_at: null, issued_by: 'admin' },
      after: { revoked_by: 'token:1111111111111111' },
    });
    expect(entries[0]!.change).toMatchObject({
      name: 'to-revoke',
      role: 'operator',
      issued_by: 'admin',
      prefix: `rg_${issued.token.id}`,
    });
    expect(JSON.stringify(entries)).not.toMatch(/sha256|token_hash|tokenHash/);
    expect((await queries.audit({ actor: 'token:1111111111111111' })).entries.map((e) => e.key)).toEqual([
      issued.token.id,
    ]);
    // Revoking again is idempotent: nothing appended, the first revocation stays.
    await service.revoke(issued.token.id, ctx('admin'));
    expect((await queries.audit({ key: issued.token.id })).entries).toHaveLength(2);
  });

  it('expires: the table refuses it from expires_at on, the list says expired, and status filters apply', async () => {
    const issued = await service.issue({ name: 'short', role: 'client', expiresInSeconds: 30 }, ctx());
    expect(table.verify(issued.secret!)).toMatchObject({ ok: true });
    now += 30_000;
    expect(table.verify(issued.secret!)).toEqual({ ok: false, refusal: 'expired' });
    expect((await freshTable()).verify(issued.secret!)).toEqual({ ok: false, refusal: 'expired' });
    expect(await queries.get(issued.token.id)).toMatchObject({
      status: 'expired',
      expires_at: new Date(T0 + 30_000).toISOString(),
    });
    expect((await queries.list({ status: 'expired' })).tokens.map((t) => t.id)).toContain(issued.token.id);
    expect((await queries.list({ status: 'active' })).tokens.map((t) => t.id)).not.toContain(issued.token.id);
    expect((await queries.list({ role: 'client' })).tokens.every((t) => t.role === 'client')).toBe(true);
  });

  it('replays from the log: a new table and a rebuilt read model equal the live ones', async () => {
    const kept = await service.issue({ name: 'kept', role: 'reader' }, ctx());
    const dropped = await service.issue({ name: 'dropped', role: 'admin' }, ctx());
    await service.revoke(dropped.token.id, ctx());
    const replica = await freshTable();
    expect(replica.size).toBe(table.size);
    for (const secret of [kept.secret!, dropped.secret!]) expect(replica.verify(secret)).toEqual(table.verify(secret));

    const rows = async () => (await pool.query('SELECT * FROM gateway.api_tokens ORDER BY issued_position')).rows;
    const before = await rows();
    expect(await new ProjectionRunner(pool, new ApiTokenProjection()).rebuild()).toBeGreaterThanOrEqual(before.length);
    expect(await rows()).toEqual(before);
  });

  it('writes last use in one batch per flush, the later time winning, and keeps uses a failed write could not store', async () => {
    const issued = await service.issue({ name: 'used', role: 'reader' }, ctx());
    const writer = new TokenUsageWriter(pool, table);
    await writer.flush();
    now += 60_000;
    table.verify(issued.secret!);
    table.verify(issued.secret!);
    expect(await writer.flush()).toBe(1);
    const stored = async () =>
      (
        await pool.query<{ at: Date }>('SELECT last_used_at AS at FROM gateway.api_token_usage WHERE token_id = $1', [
          issued.token.id,
        ])
      ).rows[0]?.at;
    expect((await stored())?.toISOString()).toBe(new Date(now).toISOString());

    // An older use arriving later (another replica's batch) does not move it back.
    table.restoreUsage(new Map([[issued.token.id, now - 30_000]]));
    await writer.flush();
    expect((await stored())?.toISOString()).toBe(new Date(now).toISOString());

    const broken = new TokenUsageWriter(
      { query: () => Promise.reject(new Error('db down')) } as unknown as pg.Pool,
      table,
    );
    table.verify(issued.secret!);
    await expect(broken.flush()).rejects.toThrow('db down');
    expect(table.pendingUse(issued.token.id)).toBe(now);
  });

  it('pages the token audit in the log order with the audit cursor, every entry once', async () => {
    for (let i = 0; i < 5; i++) await service.issue({ name: `page-${i}`, role: 'reader' }, ctx());
    const all = (await queries.audit({ limit: 500 })).entries;
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await queries.audit({ limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.entries.map((e) => e.global_position));
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toEqual(all.map((e) => e.global_position));
    expect(new Set(seen).size).toBe(seen.length);

    const listed: string[] = [];
    let listCursor: string | undefined;
    do {
      const page = await queries.list({ limit: 3, ...(listCursor === undefined ? {} : { cursor: listCursor }) });
      listed.push(...page.tokens.map((t) => t.id));
      listCursor = page.next_cursor ?? undefined;
    } while (listCursor !== undefined);
    expect(listed).toEqual((await queries.list({ limit: 500 })).tokens.map((t) => t.id));
  });

  it('refuses to run on a database that holds another service’s streams', async () => {
    await expect(assertOwnDatabase(pool)).resolves.toBeUndefined();
    const other = await createTestDatabase(gatewayMigrations);
    const otherPool = new pg.Pool({ connectionString: other.appUrl, max: 1 });
    try {
      await new PostgresEventStore(otherPool).append('flag-checkout', [{ type: 'FlagCreated', data: {} }], {
        expectedVersion: 'no_stream',
      });
      await expect(assertOwnDatabase(otherPool)).rejects.toThrow(/holds flag streams/);
    } finally {
      await otherPool.end();
      await other.drop();
    }
  });
});
