import { InMemoryEventStore } from '#rollgate/event-store';
import { RollgateError } from '#rollgate/platform';
import { commandContextFrom } from '../bus/command-context.js';
import { assertEnvironment } from '../edge/edge-request.js';
import { generateApiToken, hashApiToken } from '../tokens/api-token.secret.js';
import { BearerAuthenticator } from './bearer.authenticator.js';
import { DEFINE_ROLES, EVALUATE_ROLES, OPERATE_ROLES, READ_ROLES, ROLES, assertMayUse, mayUse, type Principal, type Role } from './principal.js';
import { StaticTokenAuthenticator } from './static-token.authenticator.js';
import { TokenTable } from './token-table.js';

describe(StaticTokenAuthenticator.name, () => {
  it('accepts exactly the configured token as the admin principal', () => {
    const auth = new StaticTokenAuthenticator('s3cret-admin-token');
    expect(auth.authenticate('s3cret-admin-token')).toEqual({ id: 'admin', roles: ['admin'] });
    for (const wrong of ['', 's3cret-admin-toke', 's3cret-admin-token ', 'S3CRET-ADMIN-TOKEN', 'x'.repeat(5000)]) {
      expect(auth.authenticate(wrong)).toBeUndefined();
    }
  });
});

describe(mayUse.name, () => {
  const as = (role: Role) => ({ id: `token:${role}`, roles: [role] });

  it('gives each role exactly its route sets, and admin every route', () => {
    const sets = { DEFINE_ROLES, OPERATE_ROLES, READ_ROLES, EVALUATE_ROLES, adminOnly: ['admin'] as const };
    const allowed = Object.fromEntries(
      ROLES.map((role) => [role, Object.entries(sets).filter(([, required]) => mayUse(as(role), required)).map(([name]) => name)]),
    );
    expect(allowed).toEqual({
      admin: ['DEFINE_ROLES', 'OPERATE_ROLES', 'READ_ROLES', 'EVALUATE_ROLES', 'adminOnly'],
      operator: ['OPERATE_ROLES', 'READ_ROLES', 'EVALUATE_ROLES'],
      reader: ['READ_ROLES', 'EVALUATE_ROLES'],
      client: ['EVALUATE_ROLES'],
    });
  });

  it('assertMayUse refuses with 403 GENERIC.FORBIDDEN naming the roles required', () => {
    expect(() => assertMayUse(as('operator'), DEFINE_ROLES, 'configure an environment')).toThrow(
      expect.objectContaining({ code: 'GENERIC.FORBIDDEN', details: { required: ['admin'] } }),
    );
    expect(() => assertMayUse(as('operator'), OPERATE_ROLES, 'toggle')).not.toThrow();
  });
});

describe(BearerAuthenticator.name, () => {
  it('takes the bootstrap admin token as admin, an issued token by the table, anything else as unknown', () => {
    const table = new TokenTable(new InMemoryEventStore());
    const token = generateApiToken('0123456789abcdef');
    table.merge({
      id: '0123456789abcdef',
      name: 'ci',
      role: 'reader',
      tokenHash: `sha256:${Buffer.from(new Uint8Array(32)).toString('hex')}`,
      issuedAt: '2026-01-01T00:00:00.000Z',
      expiresAt: null,
      issuedBy: 'admin',
      environment: null,
      revokedAt: null,
      revokedBy: null,
      version: 1,
    });
    const auth = new BearerAuthenticator(new StaticTokenAuthenticator('s3cret-admin-token'), table);
    expect(auth.authenticate('s3cret-admin-token')).toEqual({ ok: true, principal: { id: 'admin', roles: ['admin'] } });
    // Right id, wrong secret (the stored hash is not this token's).
    expect(auth.authenticate(token)).toEqual({ ok: false, refusal: 'unknown' });
    expect(auth.authenticate('rg_nope')).toEqual({ ok: false, refusal: 'unknown' });
  });
});

describe('a client token scoped to an environment', () => {
  it("carries the environment in its principal, which then evaluates only there", () => {
    const table = new TokenTable(new InMemoryEventStore());
    const token = generateApiToken('00000000000000aa');
    table.merge({
      id: '00000000000000aa', name: 'web', role: 'client', tokenHash: hashApiToken(token), issuedAt: '2026-01-01T00:00:00.000Z',
      expiresAt: null, issuedBy: 'admin', environment: 'staging', revokedAt: null, revokedBy: null, version: 1,
    });
    const authentication = table.verify(token);
    expect(authentication).toEqual({ ok: true, principal: { id: 'token:00000000000000aa', roles: ['client'], environment: 'staging' } });
    const principal = (authentication as { principal: Principal }).principal;
    expect(() => assertEnvironment(principal, 'staging')).not.toThrow();
    expect(() => assertEnvironment(principal, 'production')).toThrow(expect.objectContaining({ code: 'GENERIC.FORBIDDEN' }));
    expect(() => assertEnvironment({ id: 'admin', roles: ['admin'] }, 'production')).not.toThrow();
  });
});

describe(commandContextFrom.name, () => {
  it('takes Idempotency-Key, If-Match (quoted, weak or bare) and X-Rollgate-Reason', () => {
    expect(commandContextFrom({ 'idempotency-key': 'abc-1', 'if-match': '"7"', 'x-rollgate-reason': 'why' }, 'admin', 'c1')).toEqual({
      commandId: 'abc-1', actor: 'admin', expectedVersion: 7, reason: 'why', correlationId: 'c1',
    });
    expect(commandContextFrom({ 'if-match': 'W/"3"' }, 'a').expectedVersion).toBe(3);
    expect(commandContextFrom({ 'if-match': '12' }, 'a').expectedVersion).toBe(12);
    expect(commandContextFrom({ 'if-match': '*' }, 'a').expectedVersion).toBeUndefined();
    expect(commandContextFrom({}, 'a').commandId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    [{ 'idempotency-key': 'has space' }],
    [{ 'idempotency-key': 'x'.repeat(201) }],
    [{ 'if-match': 'v3' }],
    [{ 'if-match': ['1', '2'] }],
    [{ 'x-rollgate-reason': 'r'.repeat(1001) }],
  ])('refuses %j with GENERIC.VALIDATION', (headers) => {
    let thrown: unknown;
    try {
      commandContextFrom(headers, 'a');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RollgateError);
    expect((thrown as RollgateError).code).toBe('GENERIC.VALIDATION');
  });
});
