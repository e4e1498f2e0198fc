import 'reflect-metadata';
import { CommandHandler } from '#rollgate/commands';
import { InMemoryEventStore } from '#rollgate/event-store';
import { TokenTable } from '../auth/token-table.js';
import type { CommandContext } from '../bus/command-context.js';
import { ApiTokenService } from './api-token.service.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

describe(ApiTokenService.name, () => {
  let now: number;
  let store: InMemoryEventStore;
  let table: TokenTable;
  let service: ApiTokenService;
  let sequence = 0;
  const ctx = (overrides: Partial<CommandContext> = {}): CommandContext => ({
    commandId: `cmd-${++sequence}`,
    actor: 'admin',
    requestHash: `http-sha256:request-${sequence}`,
    ...overrides,
  });
  /** Another gateway replica on the same log. */
  const replica = (): TokenTable => new TokenTable(store, { clock: () => now });

  beforeEach(() => {
    now = T0;
    store = new InMemoryEventStore(() => new Date(now));
    table = new TokenTable(store, { clock: () => now });
    service = new ApiTokenService(new CommandHandler({ store }), table, () => new Date(now));
  });

  it('issues a token whose secret verifies at once on this replica as token:<id> with its one role', async () => {
    const issued = await service.issue({ name: 'ci', role: 'reader' }, ctx());
    expect(issued).toMatchObject({
      duplicate: false,
      token: { name: 'ci', role: 'reader', issuedBy: 'admin', expiresAt: null },
    });
    expect(issued.secret).toMatch(new RegExp(`^rg_${issued.token.id}_`));
    expect(table.verify(issued.secret!)).toEqual({
      ok: true,
      principal: { id: `token:${issued.token.id}`, roles: ['reader'] },
    });
    expect(table.verify(`${issued.secret!.slice(0, -2)}xx`)).toEqual({ ok: false, refusal: 'unknown' });
    // The secret is nowhere in the log: only its hash.
    const events = await store.readStream(`token-${issued.token.id}`);
    expect(JSON.stringify(events.map(({ data, metadata }) => ({ data, metadata })))).not.toContain(
      issued.secret!.slice(-43),
    );
    expect(events[0]!.metadata).toMatchObject({ actor: 'admin' });
  });

  it('another replica knows the token only from the log, after its next read', async () => {
    const other = replica();
    const issued = await service.issue({ name: 'ci', role: 'operator' }, ctx());
    expect(other.verify(issued.secret!)).toEqual({ ok: false, refusal: 'unknown' });
    expect(await other.catchUp()).toBe(1);
    expect(other.verify(issued.secret!)).toMatchObject({ ok: true, principal: { roles: ['operator'] } });
  });

  it('revokes: refused at once here, on other replicas after their read, and revoking twice changes nothing', async () => {
    const other = replica();
    const issued = await service.issue({ name: 'ci', role: 'reader' }, ctx());
    await other.catchUp();
    now += 5_000;
    const revoked = await service.revoke(issued.token.id, ctx({ actor: 'token:feedfacefeedface' }));
    expect(revoked).toMatchObject({
      revokedAt: new Date(now).toISOString(),
      revokedBy: 'token:feedfacefeedface',
      version: 2,
    });
    expect(table.verify(issued.secret!)).toEqual({ ok: false, refusal: 'revoked' });
    await other.catchUp();
    expect(other.verify(issued.secret!)).toEqual({ ok: false, refusal: 'revoked' });
    now += 5_000;
    expect(await service.revoke(issued.token.id, ctx())).toEqual(revoked);
    expect(await store.streamVersion(`token-${issued.token.id}`)).toBe(2);
    await expect(service.revoke('0000000000000000', ctx())).rejects.toMatchObject({ code: 'TOKENS.NOT_FOUND' });
  });

  it('refuses an expired token and keeps a revoke whatever order the merge and the log arrive in', async () => {
    const issued = await service.issue({ name: 'short', role: 'client', expiresInSeconds: 60 }, ctx());
    expect(table.verify(issued.secret!)).toMatchObject({ ok: true });
    now += 59_999;
    expect(table.verify(issued.secret!)).toMatchObject({ ok: true });
    now += 1;
    expect(table.verify(issued.secret!)).toEqual({ ok: false, refusal: 'expired' });

    // A replica that merged the revoke before reading the issue from the log does not bring the token back.
    const other = replica();
    const revoked = await service.revoke(issued.token.id, ctx());
    other.merge(revoked);
    await other.catchUp();
    now = T0;
    expect(other.verify(issued.secret!)).toEqual({ ok: false, refusal: 'revoked' });
  });

  it('replays a repeated Idempotency-Key without the secret, and refuses the key on another request', async () => {
    const first = await service.issue(
      { name: 'ci', role: 'reader' },
      ctx({ commandId: 'issue-ci', requestHash: 'http-sha256:a' }),
    );
    const again = await service.issue(
      { name: 'ci', role: 'reader' },
      ctx({ commandId: 'issue-ci', requestHash: 'http-sha256:a' }),
    );
    expect(again).toEqual({ token: first.token, duplicate: true });
    expect(table.verify(first.secret!)).toMatchObject({ ok: true });
    await expect(
      service.issue({ name: 'ci', role: 'admin' }, ctx({ commandId: 'issue-ci', requestHash: 'http-sha256:b' })),
    ).rejects.toMatchObject({ code: 'TOKENS.IDEMPOTENCY_KEY_REUSED' });
    expect(await store.streamVersion(`token-${first.token.id}`)).toBe(1);
  });

  it('records each use in memory for the batched write, the latest time winning', async () => {
    const issued = await service.issue({ name: 'ci', role: 'reader' }, ctx());
    table.verify(issued.secret!);
    now += 1_000;
    table.verify(issued.secret!);
    const usage = table.takeUsage();
    expect([...usage]).toEqual([[issued.token.id, now]]);
    expect(table.takeUsage().size).toBe(0);
    table.verify(issued.secret!);
    table.restoreUsage(new Map([[issued.token.id, now - 5_000]]));
    expect(table.pendingUse(issued.token.id)).toBe(now);
  });
});
