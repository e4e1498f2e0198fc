import { jest } from '@jest/globals';
import pg from 'pg';
import { waitFor } from '#rollgate/testing';
import {
  BusClient,
  RollgateSystem,
  auditCaughtUp,
  eventCount,
  expectError,
  uniqueKey,
  type ApiResponse,
} from './harness/index.js';

jest.setTimeout(120_000);

/**
 * Issue 8 item 2 through the running gateway and flags service: per-role API tokens issued by the admin over
 * HTTP (the secret shown once, lists show the prefix), each role's access to every route the gateway serves (the
 * routes come from its OpenAPI document, generated from the controllers, so a new route cannot slip past), a
 * revoked token refused on the very next request, an expired one refused, and the audit naming who issued and
 * who revoked. Token events stay in the gateway's database: none reaches the flags database or the bus.
 */
let system: RollgateSystem;
let bus: BusClient;
let busEvents: ReturnType<BusClient['collect']>;
let watcher: BusClient;

const API = '/api/v1';
const FLAG = uniqueKey('tok_flag');
/** The flag an operator's POST /canary-deployments creates a canary on. */
const CANARY_FLAG = uniqueKey('tok_canary');
const SEGMENT = uniqueKey('tok_seg');
/** A created canary of FLAG, for the {id} routes of /canary-deployments. */
let canaryId: string;
const SECRET = /^rg_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

type Role = 'admin' | 'operator' | 'reader' | 'client';
/** What a route does, hence who may call it (docs/api.md, "Roles"). */
type Access = 'define' | 'operate' | 'read' | 'evaluate' | 'admin';
const ALLOWED: Record<Exclude<Role, 'admin'>, readonly Access[]> = {
  operator: ['operate', 'read', 'evaluate'],
  reader: ['read', 'evaluate'],
  client: ['evaluate'],
};

/**
 * Every route of the gateway, with who may call it and a request that succeeds for them. The test fails when the
 * OpenAPI document lists a route this table does not: whoever adds a route decides its roles here and in the docs.
 */
const ROUTES: Record<string, { access: Access; body?: unknown; query?: string; status?: number; path?: () => string }> = {
  'GET /api/v1/feature-flags': { access: 'read' },
  'POST /api/v1/feature-flags': { access: 'define' },
  'GET /api/v1/feature-flags/{key}': { access: 'read' },
  'PUT /api/v1/feature-flags/{key}': { access: 'define' },
  'DELETE /api/v1/feature-flags/{key}': { access: 'define' },
  'POST /api/v1/feature-flags/{key}/restore': { access: 'define' },
  'GET /api/v1/feature-flags/{key}/evaluate': { access: 'evaluate', query: '?user_id=u1' },
  'POST /api/v1/feature-flags/{key}/evaluate': { access: 'evaluate', body: { user_id: 'u1' } },
  'PUT /api/v1/feature-flags/{key}/environments/{env}': {
    access: 'operate',
    body: { enabled: false, reason: 'kill switch' },
  },
  'PUT /api/v1/feature-flags/{key}/environments/{env}/rollout': { access: 'operate', body: { rollout_percentage: 25 } },
  'PUT /api/v1/feature-flags/{key}/environments/{env}/rules': { access: 'define' },
  'PATCH /api/v1/feature-flags/{key}/environments/{env}/users': { access: 'define' },
  'POST /api/v1/feature-flags/{key}/revert': { access: 'operate', body: { to_version: 1 } },
  'GET /api/v1/feature-flags/{key}/history': { access: 'read' },
  'GET /api/v1/feature-flags/{key}/analytics': { access: 'read' },
  'GET /api/v1/feature-flags/{key}/outcomes': { access: 'read' },
  'GET /api/v1/canary-deployments': { access: 'read' },
  'POST /api/v1/canary-deployments': {
    access: 'operate',
    body: { feature_flag_id: CANARY_FLAG, name: 'operator canary', strategy: 'percentage' },
    status: 201,
  },
  'GET /api/v1/canary-deployments/{id}': { access: 'read' },
  // In sorted order the operator aborts the created canary of FLAG (200), may not pause, promote, resume or start it then (409),
  // and rolling back a cancelled canary changes nothing (200).
  'POST /api/v1/canary-deployments/{id}/abort': { access: 'operate', body: {} },
  'POST /api/v1/canary-deployments/{id}/pause': { access: 'operate', body: {}, status: 409 },
  'POST /api/v1/canary-deployments/{id}/promote': { access: 'operate', body: {}, status: 409 },
  'POST /api/v1/canary-deployments/{id}/resume': { access: 'operate', body: {}, status: 409 },
  'POST /api/v1/canary-deployments/{id}/rollback': { access: 'operate', body: {} },
  'POST /api/v1/canary-deployments/{id}/start': { access: 'operate', body: {}, status: 409 },
  'GET /api/v1/canary-deployments/{id}/metrics': { access: 'read' },
  'GET /api/v1/canary-deployments/{id}/history': { access: 'read' },
  // FLAG is free again: a canary starts (201); promoting it before it is certified is a 409.
  'POST /api/v1/feature-flags/{key}/canary': { access: 'operate', body: { canary_percentage: 10, monitoring_duration_hours: 1 }, status: 201 },
  'POST /api/v1/feature-flags/{key}/promote': { access: 'operate', body: {}, status: 409 },
  'GET /api/v1/audit': { access: 'read' },
  'GET /api/v1/audit/tokens': { access: 'admin' },
  'GET /api/v1/environments/{env}/snapshot': { access: 'evaluate' },
  'GET /api/v1/segments/{key}': { access: 'read' },
  'PUT /api/v1/segments/{key}': { access: 'define' },
  'PATCH /api/v1/segments/{key}/members': { access: 'define' },
  'POST /api/v1/tokens': { access: 'admin' },
  'GET /api/v1/tokens': { access: 'admin' },
  'GET /api/v1/tokens/{id}': { access: 'admin' },
  'DELETE /api/v1/tokens/{id}': { access: 'admin' },
  'POST /api/v1/feature-flags/{key}/rollback': {
    access: 'operate',
    body: { reason: 'roles' },
    status: 202,
    path: () => `${API}/feature-flags/${RB.flagRollback}/rollback`,
  },
  'GET /api/v1/rollbacks': { access: 'read' },
  'GET /api/v1/rollbacks/metrics': { access: 'read' },
  'GET /api/v1/rollbacks/audit': { access: 'read' },
  'POST /api/v1/rollbacks/execute': { access: 'operate', body: () => ({ plan_id: RB.runPlan, reason: 'roles' }), status: 202 },
  'POST /api/v1/rollbacks/emergency': {
    access: 'operate',
    body: () => ({ scope: 'feature_flag', target_id: RB.emergencyFlag, reason: 'roles' }),
    status: 202,
  },
  'GET /api/v1/rollbacks/plans': { access: 'read' },
  'POST /api/v1/rollbacks/plans': { access: 'operate', body: () => planBody(RB.planFlag), status: 201 },
  'GET /api/v1/rollbacks/plans/{id}': { access: 'read', path: () => `${API}/rollbacks/plans/${RB.plan}` },
  'PUT /api/v1/rollbacks/plans/{id}': {
    access: 'operate',
    body: { description: 'edited by an operator' },
    path: () => `${API}/rollbacks/plans/${RB.plan}`,
  },
  'DELETE /api/v1/rollbacks/plans/{id}': { access: 'operate', path: () => `${API}/rollbacks/plans/${RB.archivedPlan}` },
  'GET /api/v1/rollbacks/{id}': { access: 'read', path: () => `${API}/rollbacks/${RB.execution}` },
  'GET /api/v1/rollbacks/{id}/status': { access: 'read', path: () => `${API}/rollbacks/${RB.execution}/status` },
  'POST /api/v1/rollbacks/{id}/cancel': {
    access: 'operate',
    body: { reason: 'roles' },
    path: () => `${API}/rollbacks/${RB.execution}/cancel`,
  },
};

/** Rollback fixtures, made in beforeAll: each write route gets a target of its own, so none waits on another. */
const RB = {
  planFlag: uniqueKey('tok_rb_plan'),
  runFlag: uniqueKey('tok_rb_run'),
  emergencyFlag: uniqueKey('tok_rb_emerg'),
  flagRollback: uniqueKey('tok_rb_flag'),
  plan: '',
  archivedPlan: '',
  runPlan: '',
  /** A scheduled execution (a week ahead): readable, and cancellable by the operator. */
  execution: '',
};
const planBody = (flag: string): Record<string, unknown> => ({
  name: 'roles',
  rollback_type: 'manual',
  scope: 'feature_flag',
  target_id: flag,
  rollback_steps: [{ type: 'set_rollout', config: { flag_id: flag, percentage: 5 } }],
});

/** A read changes nothing: every GET, and evaluation by POST. Everything else is a write. */
const isRead = (route: string): boolean =>
  route.startsWith('GET ') || route === 'POST /api/v1/feature-flags/{key}/evaluate';

let routes: string[];
/** A token that exists, for the {id} routes. */
let someTokenId: string;

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const as = (token: string, method: string, path: string, body?: unknown): Promise<ApiResponse> =>
  system.api(method, path, body, bearer(token));

/** `METHOD /path/{param}` → a concrete request path. */
const pathOf = (route: string): string => {
  const fixed = ROUTES[route]?.path;
  if (fixed !== undefined) return fixed();
  const path = route.slice(route.indexOf(' ') + 1);
  return path
    .replace('/segments/{key}', `/segments/${SEGMENT}`)
    .replace('/canary-deployments/{id}', `/canary-deployments/${canaryId}`)
    .replace('{key}', FLAG)
    .replace('{env}', 'production')
    .replace('{id}', someTokenId);
};
const call = (token: string, route: string, body?: unknown): Promise<ApiResponse> => {
  const method = route.slice(0, route.indexOf(' '));
  const sent = typeof body === 'function' ? (body as () => unknown)() : body;
  return as(token, method, `${pathOf(route)}${ROUTES[route]?.query ?? ''}`, method === 'GET' ? undefined : sent);
};

async function issue(
  role: Role,
  options: Record<string, unknown> = {},
  by = system.adminToken,
): Promise<{ id: string; secret: string; body: Record<string, unknown> }> {
  const response = await as(by, 'POST', `${API}/tokens`, { name: `${role}-${uniqueKey('t')}`, role, ...options });
  expect(response.status).toBe(201);
  const secret = String(response.body.token);
  expect(secret).toMatch(SECRET);
  return { id: String(response.body.id), secret, body: response.body };
}

beforeAll(async () => {
  system = await RollgateSystem.start({
    services: ['flags', 'rollback', 'canary', 'gateway'],
    env: {
      flags: { ROLLGATE_FLAGS_SEED: 'false' },
      rollback: { ROLLGATE_ROLLBACK_SEED: 'false' },
      gateway: { ROLLGATE_GATEWAY_TOKEN_USAGE_FLUSH_MS: '200' },
    },
  });
  bus = await BusClient.connect(system.nats);
  // Only the admin user may watch every event subject.
  watcher = await BusClient.connect(system.nats, 'admin');
  busEvents = watcher.collect('rg.evt.>');
  expect(
    (
      await system.api('POST', `${API}/feature-flags`, {
        name: FLAG,
        rollout_percentage: 10,
        target_environments: ['production'],
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await system.api('PUT', `${API}/segments/${SEGMENT}`, {
        conditions: [{ attribute: 'plan', operator: 'in', values: ['pro'] }],
      })
    ).status,
  ).toBe(200);
  expect((await system.api('POST', `${API}/feature-flags`, { name: CANARY_FLAG, target_environments: ['production'] })).status).toBe(201);
  const canary = await system.api('POST', `${API}/canary-deployments`, { feature_flag_id: FLAG, name: 'token canary', strategy: 'percentage' });
  expect(canary.status).toBe(201);
  canaryId = String(canary.body.id);
  const document = await fetch(`${system.gatewayUrl}/api/docs-json`);
  expect(document.status).toBe(200);
  const paths = ((await document.json()) as { paths: Record<string, Record<string, unknown>> }).paths;
  routes = Object.entries(paths)
    .filter(([path]) => path.startsWith(`${API}/`))
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
  someTokenId = (await issue('client')).id;
  for (const flag of [RB.planFlag, RB.runFlag, RB.emergencyFlag, RB.flagRollback]) {
    expect((await system.api('POST', `${API}/feature-flags`, { name: flag, target_environments: ['production'] })).status).toBe(201);
  }
  const plan = async (flag: string): Promise<string> => {
    const created = await system.api('POST', `${API}/rollbacks/plans`, planBody(flag));
    expect(created.status).toBe(201);
    return String(created.body.id);
  };
  [RB.plan, RB.archivedPlan, RB.runPlan] = [await plan(RB.planFlag), await plan(RB.planFlag), await plan(RB.runFlag)];
  const scheduled = await system.api('POST', `${API}/rollbacks/execute`, {
    plan_id: RB.plan,
    scheduled_at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    reason: 'roles',
  });
  expect(scheduled.status).toBe(202);
  RB.execution = String(scheduled.body.id);
}, 180_000);

afterAll(async () => {
  await busEvents?.stop();
  await watcher?.close();
  await bus?.close();
  await system?.stop();
});

describe('issuing', () => {
  it('shows the secret once: the issue answer has it, no list or get does, and no database stores it', async () => {
    const issued = await issue('reader', { name: 'ci-reader' });
    const [, id] = SECRET.exec(issued.secret)!;
    expect(issued.body).toMatchObject({
      id,
      name: 'ci-reader',
      role: 'reader',
      prefix: `rg_${id}`,
      status: 'active',
      expires_at: null,
      last_used_at: null,
      issued_by: 'admin',
      revoked_at: null,
      revoked_by: null,
      duplicate: false,
    });
    const secretPart = issued.secret.slice(-43);
    const list = await system.api('GET', `${API}/tokens?limit=500`);
    expect(list.status).toBe(200);
    const listed = (list.body.tokens as Array<Record<string, unknown>>).find((token) => token.id === id);
    expect(listed).toMatchObject({ prefix: `rg_${id}`, name: 'ci-reader', role: 'reader', issued_by: 'admin' });
    expect(listed).not.toHaveProperty('token');
    const one = await system.api('GET', `${API}/tokens/${id}`);
    expect(one.body).toMatchObject({ id, prefix: `rg_${id}` });
    for (const text of [JSON.stringify(list.body), JSON.stringify(one.body)]) {
      expect(text).not.toContain(secretPart);
      expect(text).not.toMatch(/sha256/);
    }
    const gatewayDb = (
      await sqlOn(
        'gateway',
        "SELECT (SELECT coalesce(json_agg(e), '[]')::text FROM es.events e) || (SELECT json_agg(t)::text FROM gateway.api_tokens t) AS dump",
      )
    )[0]!;
    expect(gatewayDb.dump).toContain(id);
    expect(gatewayDb.dump).not.toContain(secretPart);
  });

  it('answers a repeated Idempotency-Key with the same token and no secret; the key on another body is a 422', async () => {
    const key = { 'idempotency-key': uniqueKey('issue') };
    const body = { name: 'once', role: 'reader' };
    const first = await system.api('POST', `${API}/tokens`, body, key);
    const again = await system.api('POST', `${API}/tokens`, body, key);
    expect(first.body.token).toMatch(SECRET);
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: first.body.id, duplicate: true });
    expect(again.body).not.toHaveProperty('token');
    expectError(
      await system.api('POST', `${API}/tokens`, { ...body, role: 'admin' }, key),
      422,
      'TOKENS.IDEMPOTENCY_KEY_REUSED',
    );
  });

  it.each<[string, Record<string, unknown>, number, string, string | undefined]>([
    ['an unknown role', { name: 'x', role: 'root' }, 400, 'GENERIC.VALIDATION', 'role'],
    ['no role', { name: 'x' }, 400, 'GENERIC.VALIDATION', 'role'],
    ['a name too long', { name: 'n'.repeat(101), role: 'reader' }, 400, 'GENERIC.VALIDATION', 'name'],
    ['a blank name', { name: '  ', role: 'reader' }, 400, 'GENERIC.VALIDATION', 'name'],
    [
      'an expiry in the past',
      { name: 'x', role: 'reader', expires_at: '2020-01-01T00:00:00Z' },
      400,
      'GENERIC.VALIDATION',
      'expires_at',
    ],
    [
      'both expiries',
      { name: 'x', role: 'reader', expires_at: '2999-01-01T00:00:00Z', expires_in: 60 },
      400,
      'GENERIC.VALIDATION',
      'expires_at',
    ],
    ['a zero lifetime', { name: 'x', role: 'reader', expires_in: 0 }, 400, 'GENERIC.VALIDATION', 'expires_in'],
    ['an actor field', { name: 'x', role: 'reader', actor: 'mallory' }, 400, 'GENERIC.VALIDATION', undefined],
    ['an issued_by field', { name: 'x', role: 'reader', issued_by: 'mallory' }, 400, 'GENERIC.VALIDATION', undefined],
  ])('refuses %s with a clear 4xx and issues nothing', async (_, body, status, code, field) => {
    const before = (await sqlOn('gateway', 'SELECT count(*)::int AS n FROM es.events'))[0]!.n;
    expectError(await system.api('POST', `${API}/tokens`, body), status, code, field);
    expect((await sqlOn('gateway', 'SELECT count(*)::int AS n FROM es.events'))[0]!.n).toBe(before);
  });

  it('answers 404 for an unknown token id and 400 for one that is no token id', async () => {
    expectError(await system.api('GET', `${API}/tokens/ffffffffffffffff`), 404, 'TOKENS.NOT_FOUND');
    expectError(await system.api('DELETE', `${API}/tokens/ffffffffffffffff`), 404, 'TOKENS.NOT_FOUND');
    expectError(await system.api('GET', `${API}/tokens/not-a-token`), 400, 'GENERIC.VALIDATION', 'id');
  });
});

describe('roles on every route', () => {
  it('the route table covers exactly the routes the gateway serves', () => {
    expect(routes).toEqual(Object.keys(ROUTES).sort());
  });

  it('a reader token gets 200 on every read route and 403 on every write route, and its writes change nothing', async () => {
    const reader = await issue('reader');
    const flagEvents = await eventCount(system);
    const results: Record<string, number> = {};
    for (const route of routes) {
      const read = isRead(route) && ROUTES[route]?.access !== 'admin';
      results[route] = (await call(reader.secret, route, read ? ROUTES[route]?.body : {})).status;
    }
    const expected = Object.fromEntries(
      routes.map((route) => [route, isRead(route) && ROUTES[route]?.access !== 'admin' ? 200 : 403]),
    );
    expect(results).toEqual(expected);
    expect(Object.values(expected).filter((status) => status === 403).length).toBeGreaterThan(10);
    expect(await eventCount(system)).toBe(flagEvents);
  });

  it.each<Exclude<Role, 'admin'>>(['operator', 'client'])('%s tokens may call exactly their routes', async (role) => {
    const token = await issue(role);
    const results: Record<string, number> = {};
    const expected: Record<string, number> = {};
    for (const route of routes) {
      const { access, body, status } = ROUTES[route]!;
      const allowed = ALLOWED[role].includes(access);
      expected[route] = allowed ? (status ?? 200) : 403;
      results[route] = (await call(token.secret, route, allowed ? body : {})).status;
    }
    expect(results).toEqual(expected);
  });

  it('an operator toggles and changes rollouts as itself, but may not configure, create or delete a flag', async () => {
    const operator = await issue('operator');
    const env = `${API}/feature-flags/${FLAG}/environments/production`;
    const enabled = (await as(operator.secret, 'GET', `${API}/feature-flags/${FLAG}`)).body.environments.production
      .enabled as boolean;
    const toggled = await as(operator.secret, 'PUT', env, { enabled: !enabled, reason: 'flipped' });
    expect(toggled.status).toBe(200);
    expect(toggled.body.flag.environments.production.enabled).toBe(!enabled);
    const rollout = await as(operator.secret, 'PUT', `${env}/rollout`, { rollout_percentage: 42 });
    expect(rollout.status).toBe(200);
    expectError(
      await as(operator.secret, 'PUT', env, { enabled: true, default_rollout: { type: 'all_users' } }),
      403,
      'GENERIC.FORBIDDEN',
    );
    expectError(
      await as(operator.secret, 'POST', `${API}/feature-flags`, { name: uniqueKey('op') }),
      403,
      'GENERIC.FORBIDDEN',
    );
    expectError(await as(operator.secret, 'DELETE', `${API}/feature-flags/${FLAG}`), 403, 'GENERIC.FORBIDDEN');
    // The acting principal is the token's, never a body field's.
    expectError(await as(operator.secret, 'PUT', env, { enabled: false, actor: 'mallory' }), 400, 'GENERIC.VALIDATION');
    const audit = await auditCaughtUp(system);
    const mine = audit.filter((entry) => entry.key === FLAG).slice(-2);
    expect(mine).toMatchObject([
      { event_type: 'FlagToggled', actor: `token:${operator.id}`, reason: 'flipped' },
      { event_type: 'RolloutChanged', actor: `token:${operator.id}` },
    ]);
    expect(audit.some((entry) => entry.actor === 'mallory')).toBe(false);
  });

  it('the bootstrap admin token keeps working, as the principal admin', async () => {
    const read = await system.api('GET', `${API}/feature-flags/${FLAG}`);
    expect(read.status).toBe(200);
    const history = await system.api('GET', `${API}/feature-flags/${FLAG}/history`);
    expect(history.body.entries[0].actor).toBe('admin');
  });
});

describe('revoking and expiry', () => {
  it('a revoked token gets 401 on the very next request; the audit shows who issued it and who revoked it', async () => {
    // A second admin, itself a token, issues the reader; the bootstrap admin revokes it.
    const officer = await issue('admin', { name: 'security-officer' });
    const reader = await issue('reader', { name: 'to-revoke' }, officer.secret);
    expect(reader.body.issued_by).toBe(`token:${officer.id}`);
    expect((await as(reader.secret, 'GET', `${API}/feature-flags`)).status).toBe(200);

    const revoked = await system.api('DELETE', `${API}/tokens/${reader.id}`, undefined, {
      'x-rollgate-reason': 'laptop lost',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({
      id: reader.id,
      status: 'revoked',
      issued_by: `token:${officer.id}`,
      revoked_by: 'admin',
    });
    const refused = await as(reader.secret, 'GET', `${API}/feature-flags`);
    expectError(refused, 401, 'GENERIC.UNAUTHORIZED');
    expect(refused.body.message).toBe('Bearer token revoked');
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);

    // Revoking again is idempotent: the same answer, nothing appended.
    const again = await system.api('DELETE', `${API}/tokens/${reader.id}`);
    expect(again.status).toBe(200);
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);

    const audit = await system.api('GET', `${API}/audit/tokens?key=${reader.id}`);
    expect(audit.status).toBe(200);
    expect(audit.body.next_cursor).toBeNull();
    expect(audit.body.entries.map((e: Record<string, unknown>) => [e.event_type, e.actor, e.version])).toEqual([
      ['ApiTokenIssued', `token:${officer.id}`, 1],
      ['ApiTokenRevoked', 'admin', 2],
    ]);
    expect(audit.body.entries[1]).toMatchObject({
      key: reader.id,
      reason: 'laptop lost',
      after: { revoked_by: 'admin' },
    });
    expect(JSON.stringify(audit.body)).not.toMatch(/sha256|hash/i);
    const byOfficer = await system.api('GET', `${API}/audit/tokens?actor=${encodeURIComponent(`token:${officer.id}`)}`);
    expect(byOfficer.body.entries.map((e: Record<string, unknown>) => e.key)).toEqual([reader.id]);
    // Only the admin reads the token audit.
    const reader2 = await issue('reader');
    expectError(await as(reader2.secret, 'GET', `${API}/audit/tokens`), 403, 'GENERIC.FORBIDDEN');
  });

  it('an expired token gets 401', async () => {
    const short = await issue('reader', { expires_in: 3 });
    expect(short.body.expires_at).toEqual(expect.any(String));
    expect((await as(short.secret, 'GET', `${API}/feature-flags`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(String(short.body.expires_at)) - Date.now() + 100));
    const refused = await as(short.secret, 'GET', `${API}/feature-flags`);
    expectError(refused, 401, 'GENERIC.UNAUTHORIZED');
    expect(refused.body.message).toBe('Bearer token expired');
    expect((await system.api('GET', `${API}/tokens/${short.id}`)).body.status).toBe('expired');
  });

  it('writes last use in batches, and a wrong or unknown token is a 401', async () => {
    const used = await issue('client');
    expect((await as(used.secret, 'GET', `${API}/environments/production/snapshot`)).status).toBe(200);
    const stored = await waitFor('the batched last-use write', async () => {
      const rows = await sqlOn('gateway', 'SELECT last_used_at FROM gateway.api_token_usage WHERE token_id = $1', [
        used.id,
      ]);
      return rows[0]?.last_used_at;
    });
    expect(stored).toBeInstanceOf(Date);
    expectError(
      await as(`${used.secret.slice(0, -4)}AAAA`, 'GET', `${API}/environments/production/snapshot`),
      401,
      'GENERIC.UNAUTHORIZED',
    );
    expectError(
      await as('rg_0000000000000000_' + 'A'.repeat(43), 'GET', `${API}/feature-flags`),
      401,
      'GENERIC.UNAUTHORIZED',
    );
  });
});

describe('replay', () => {
  it('after the read model is lost, rebuild and restart: every token back from the log, the same list and answers', async () => {
    const kept = await issue('reader');
    const gone = await issue('operator');
    expect((await system.api('DELETE', `${API}/tokens/${gone.id}`)).status).toBe(200);
    const listed = async () => {
      const { tokens } = (await system.api('GET', `${API}/tokens?limit=500`)).body as {
        tokens: Array<Record<string, unknown>>;
      };
      return tokens.map(({ last_used_at: _used, status: _status, ...token }) => token);
    };
    const before = await listed();
    await system.kill('gateway');
    // The read model lost (the log is the state): `main.js rebuild` brings it back.
    await sqlOn('gateway', 'DELETE FROM gateway.api_tokens');
    await system.runTask('gateway', ['rebuild']);
    await system.restart('gateway');
    expect(await listed()).toEqual(before);
    expect((await as(kept.secret, 'GET', `${API}/feature-flags`)).status).toBe(200);
    expectError(await as(gone.secret, 'GET', `${API}/feature-flags`), 401, 'GENERIC.UNAUTHORIZED');
  });
});

describe('where token events live', () => {
  it('only in the gateway database: none in the flags database, none on the bus', async () => {
    expect(
      (await sqlOn('gateway', "SELECT count(*)::int AS n FROM es.events WHERE stream_id LIKE 'token-%'"))[0]!.n,
    ).toBeGreaterThan(5);
    expect(
      (
        await system.sql<{ n: number }>(
          "SELECT count(*)::int AS n FROM es.events WHERE stream_id NOT LIKE 'flag-%' AND stream_id NOT LIKE 'segment-%'",
        )
      )[0]!.n,
    ).toBe(0);
    await waitFor('flag events on the bus', async () => busEvents.messages.length > 0);
    expect(
      busEvents.messages.filter((m) => m.subject.includes('.token.') || /tokenHash|ApiToken/.test(m.data)),
    ).toEqual([]);
  });
});

/** A query on a service's own database as the service role. */
async function sqlOn(name: 'gateway', text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: system.databaseUrl(name) });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}
