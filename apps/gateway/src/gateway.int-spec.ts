import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { createTestDatabase, startPrivateNats, type PrivateNats, type TestDatabase } from '#rollgate/testing';
import { nuid, type Msg } from '@nats-io/nats-core';
import { CORRELATION_HEADER, type Reply } from '#rollgate/contracts';
import { ConfigError } from '#rollgate/platform';
import { createGatewayApp } from './gateway.app.js';
import { gatewayMigrations } from './gateway.migrations.js';

const TOKEN = `test-admin-token-${nuid.next()}`;
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface Received {
  subject: string;
  body: Record<string, unknown>;
  correlationHeader: string | undefined;
}

/** Plays the flags service on real NATS: records every request and answers with `answer(subject, body)`. */
class FakeFlagsService {
  received: Received[] = [];
  answer: (subject: string, body: Record<string, unknown>) => Reply | 'silence' = () => ({ ok: true, result: null });
  private subs: Subscription[] = [];

  constructor(private readonly nc: NatsConnection) {}

  start(): void {
    for (const subject of ['rg.cmd.flags.>', 'rg.qry.flags.>']) {
      this.subs.push(this.nc.subscribe(subject, { callback: (_err, msg) => this.handle(msg) }));
    }
  }

  async stop(): Promise<void> {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
    await this.nc.flush();
  }

  private handle(msg: Msg): void {
    const body = msg.json<Record<string, unknown>>();
    this.received.push({ subject: msg.subject, body, correlationHeader: msg.headers?.get(CORRELATION_HEADER) || undefined });
    const reply = this.answer(msg.subject, body);
    if (reply !== 'silence') msg.respond(JSON.stringify(reply));
  }
}

// Response bodies are checked field by field; a loose type keeps the assertions readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const jsonOf = (response: Response): Promise<any> => response.json();

const flagOf = (key: string, version: number) => ({
  key,
  name: key,
  type: 'boolean',
  version,
  environments: { production: { enabled: true, defaultRollout: { type: 'percentage', ppm: 100_000 } } },
});

// A private nats-server: the fake flags service below answers rg.cmd.flags.>, which a real flags service tested in
// parallel on a shared server would answer too. The gateway's own database holds its API tokens.
let privateNats: PrivateNats;
let NATS_URL: string;
let gatewayLogin: Record<string, string>;
let db: TestDatabase;

beforeAll(async () => {
  privateNats = await startPrivateNats();
  NATS_URL = privateNats.url;
  gatewayLogin = privateNats.env('gateway');
  db = await createTestDatabase(gatewayMigrations);
});
afterAll(async () => {
  await privateNats?.destroy();
  await db?.drop();
});

describe('gateway over real NATS', () => {
  let app: NestFastifyApplication;
  let base: string;
  let nc: NatsConnection;
  let flags: FakeFlagsService;

  beforeAll(async () => {
    // The fake service answers outside the flags queue group, which only the admin user may do.
    nc = await connect(privateNats.options('admin'));
    flags = new FakeFlagsService(nc);
    flags.start();
    const silent = new Writable({ write: (_c, _e, cb) => cb() });
    ({ app } = await createGatewayApp({
      // No environment loaded at start: the fake service answers no snapshot.
      env: { ROLLGATE_ADMIN_TOKEN: TOKEN, ...gatewayLogin, DATABASE_URL: db.appUrl, ROLLGATE_BUS_TIMEOUT_MS: '300', ROLLGATE_LOG_LEVEL: 'error', ROLLGATE_GATEWAY_ENVIRONMENTS: '' },
      logDestination: silent,
    }));
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await flags?.stop();
    await nc?.drain();
  });

  beforeEach(() => {
    flags.received = [];
    flags.answer = () => ({ ok: true, result: null });
  });

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH) =>
    fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('refuses to start without ROLLGATE_ADMIN_TOKEN', async () => {
    await expect(createGatewayApp({ env: { NATS_URL } })).rejects.toThrow(ConfigError);
    await expect(createGatewayApp({ env: { NATS_URL } })).rejects.toThrow(/ROLLGATE_ADMIN_TOKEN/);
  });

  it('answers 401 GENERIC.UNAUTHORIZED without or with a wrong token, and sends nothing', async () => {
    for (const headers of <Record<string, string>[]>[{}, { authorization: 'Bearer wrong-token-of-some-length' }, { authorization: `Basic ${TOKEN}` }]) {
      const response = await call('GET', '/api/v1/feature-flags', undefined, headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="rollgate"');
      expect((await jsonOf(response)).code).toBe('GENERIC.UNAUTHORIZED');
    }
    expect(flags.received).toEqual([]);
  });

  it('serves health, metrics and the OpenAPI document without a token', async () => {
    expect((await call('GET', '/health/live', undefined, {})).status).toBe(200);
    const ready = await call('GET', '/health/ready', undefined, {});
    expect(ready.status).toBe(200);
    expect(await jsonOf(ready)).toMatchObject({ status: 'ok', checks: { nats: { status: 'ok' } } });
    const docs = await call('GET', '/api/docs-json', undefined, {});
    expect(docs.status).toBe(200);
    const document = (await jsonOf(docs)) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /api/v1/feature-flags',
        'POST /api/v1/feature-flags',
        'GET /api/v1/feature-flags/{key}',
        'PUT /api/v1/feature-flags/{key}',
        'DELETE /api/v1/feature-flags/{key}',
        'POST /api/v1/feature-flags/{key}/restore',
        'GET /api/v1/feature-flags/{key}/evaluate',
        'POST /api/v1/feature-flags/{key}/evaluate',
        'PUT /api/v1/feature-flags/{key}/environments/{env}',
        'PUT /api/v1/feature-flags/{key}/environments/{env}/rollout',
        'PUT /api/v1/feature-flags/{key}/environments/{env}/rules',
        'PATCH /api/v1/feature-flags/{key}/environments/{env}/users',
        'POST /api/v1/feature-flags/{key}/revert',
        'GET /api/v1/feature-flags/{key}/history',
        'GET /api/v1/feature-flags/{key}/analytics',
        'GET /api/v1/feature-flags/{key}/outcomes',
        'GET /api/v1/audit',
        'GET /api/v1/environments/{env}/snapshot',
        'GET /api/v1/segments/{key}',
        'PUT /api/v1/segments/{key}',
      ]),
    );
    // the probes stay outside the /api/v1 prefix
    expect(routes.filter((r) => !r.includes('/api/') && (r.includes('/health') || r.includes('/metrics'))).sort()).toEqual(['GET /health/live', 'GET /health/ready', 'GET /metrics']);
    expect((await call('GET', '/api/docs', undefined, {})).status).toBe(200);
  });

  it("sends the seed's create call as one create envelope (Idempotency-Key, actor, reason, correlation id) and answers 201", async () => {
    const results = new Map<string, unknown>();
    flags.answer = (_subject, body) => {
      const commandId = body['commandId'] as string;
      const first = results.get(commandId);
      const flag = { ...((body['payload'] as { flag: object }).flag), version: 1 };
      const result = first ?? { key: 'auto_submit_enabled', version: 1, position: '42', duplicate: false, flag };
      results.set(commandId, result);
      return { ok: true, result: first === undefined ? result : { ...result, duplicate: true } };
    };
    const seed = {
      name: 'auto_submit_enabled',
      description: 'Enable automatic dispute submission',
      flag_type: 'boolean',
      rollout_strategy: 'percentage',
      rollout_percentage: 10.0,
      target_environments: ['production'],
    };
    const headers = { ...AUTH, 'idempotency-key': 'create-auto-submit-1', 'x-correlation-id': 'corr-create-1', 'x-rollgate-reason': 'launch' };
    const first = await call('POST', '/api/v1/feature-flags', seed, headers);
    expect(first.status).toBe(201);
    expect(first.headers.get('etag')).toBe('"1"');
    expect(first.headers.get('x-correlation-id')).toBe('corr-create-1');
    const body = await jsonOf(first);
    expect(body).toMatchObject({ key: 'auto_submit_enabled', version: 1, duplicate: false });
    expect(body.flag.environments.production).toEqual({ enabled: true, default_rollout: { type: 'percentage', ppm: 100_000 } });
    expect(body.flag.status).toBe('active');

    const repeat = await call('POST', '/api/v1/feature-flags', seed, headers);
    expect(repeat.status).toBe(201);
    expect((await jsonOf(repeat)).duplicate).toBe(true);

    expect(flags.received).toHaveLength(2);
    const [sent, again] = flags.received;
    expect(sent!.subject).toBe('rg.cmd.flags.create');
    expect(sent!.correlationHeader).toBe('corr-create-1');
    const rollout = { type: 'percentage', ppm: 100_000 };
    expect(sent!.body).toEqual({
      commandId: 'create-auto-submit-1',
      actor: 'admin',
      reason: 'launch',
      correlationId: 'corr-create-1',
      // what the Idempotency-Key is bound to: method, URL and body as sent
      requestHash: expect.stringMatching(/^http-sha256:[0-9a-f]{64}$/),
      payload: {
        flag: {
          key: 'auto_submit_enabled',
          name: 'auto_submit_enabled',
          description: 'Enable automatic dispute submission',
          type: 'boolean',
          environments: {
            development: { enabled: false, defaultRollout: rollout },
            staging: { enabled: false, defaultRollout: rollout },
            production: { enabled: true, defaultRollout: rollout },
          },
        },
      },
    });
    expect(again!.body['commandId']).toBe('create-auto-submit-1');
    expect(again!.body['requestHash']).toBe(sent!.body['requestHash']);
  });

  it('generates a fresh command id per request without Idempotency-Key, and a body reason wins', async () => {
    flags.answer = () => ({ ok: true, result: { key: 'k', version: 1, position: '1', duplicate: false, flag: flagOf('k', 1) } });
    await call('POST', '/api/v1/feature-flags', { name: 'k', reason: 'from body' }, { ...AUTH, 'x-rollgate-reason': 'header' });
    await call('POST', '/api/v1/feature-flags', { name: 'k' });
    const [a, b] = flags.received.map((r) => r.body);
    expect(a!['commandId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(b!['commandId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a!['commandId']).not.toBe(b!['commandId']);
    expect(a!['reason']).toBe('from body');
    // the generated correlation id goes out in both the header and the envelope
    expect(flags.received[1]!.correlationHeader).toBe(b!['correlationId']);
  });

  it.each([
    ['percentage above 100', { name: 'k', rollout_strategy: 'percentage', rollout_percentage: 100.5 }, 'rollout_percentage'],
    ['negative percentage', { name: 'k', rollout_percentage: -1 }, 'rollout_percentage'],
    ['unknown field', { name: 'k', colour: 'red' }, 'colour'],
    ['wrong type', { name: 'k', target_environments: 'production' }, 'target_environments'],
    ['invalid key', { name: 'Auto Submit!' }, 'name'],
    ['unknown strategy', { name: 'k', rollout_strategy: 'sometimes' }, 'rollout_strategy'],
    ['percentage as a string', { name: 'k', rollout_percentage: '10' }, 'rollout_percentage'],
  ])('answers 400 GENERIC.VALIDATION for %s, naming the field, and sends nothing', async (_case, body, field) => {
    const response = await call('POST', '/api/v1/feature-flags', body);
    expect(response.status).toBe(400);
    const error = await jsonOf(response);
    expect(error.code).toBe('GENERIC.VALIDATION');
    expect(error.details.problems.map((p: { path: string }) => p.path)).toContain(field);
    expect(flags.received).toEqual([]);
  });

  it('answers 400 for malformed JSON, a bad path key and a bad If-Match; 413 for a body over 1 MiB, or 8 MiB where user lists go', async () => {
    const malformed = await call('POST', '/api/v1/feature-flags', '{"name": ');
    expect(malformed.status).toBe(400);
    expect((await jsonOf(malformed)).code).toBe('GENERIC.VALIDATION');
    const badKey = await call('GET', '/api/v1/feature-flags/Bad.Key');
    expect(badKey.status).toBe(400);
    expect((await jsonOf(badKey)).details.problems).toEqual([expect.objectContaining({ path: 'key' })]);
    const badIfMatch = await call('PUT', '/api/v1/feature-flags/k/environments/production', { enabled: true }, { ...AUTH, 'if-match': 'banana' });
    expect(badIfMatch.status).toBe(400);
    const big = await call('PUT', '/api/v1/feature-flags/k', { description: 'x'.repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    expect((await jsonOf(big)).code).toBe('GENERIC.PAYLOAD_TOO_LARGE');
    const bigger = await call('POST', '/api/v1/feature-flags', { name: 'k', user_ids: ['x'.repeat(8 * 1024 * 1024 + 1)] });
    expect(bigger.status).toBe(413);
    expect((await jsonOf(bigger)).code).toBe('GENERIC.PAYLOAD_TOO_LARGE');
    // Between the two: the list route takes it (and the DTO, not the body limit, refuses the 257-character id).
    const list = await call('POST', '/api/v1/feature-flags', { name: 'k', user_ids: Array.from({ length: 5_000 }, () => 'y'.repeat(257)) });
    expect(list.status).toBe(400);
    expect(flags.received).toEqual([]);
  });

  it('evaluates the seed way: GET with user_id, environment default production, extra params as attributes', async () => {
    flags.answer = (_s, body) => ({
      ok: true,
      result: { key: body['key'], environment: body['environment'], value: true, variant: 'on', reason: 'SPLIT', flagVersion: 3 },
    });
    const response = await call('GET', '/api/v1/feature-flags/auto_submit_enabled/evaluate?user_id=user123&plan=pro&as_of=2026-01-01T00:00:00Z');
    expect(response.status).toBe(200);
    expect(await jsonOf(response)).toEqual({ flag: 'auto_submit_enabled', value: true, enabled: true, variant: 'on', reason: 'SPLIT', version: 3 });
    expect(flags.received).toHaveLength(1);
    expect(flags.received[0]!.subject).toBe('rg.qry.flags.evaluate');
    expect(flags.received[0]!.body).toEqual({
      key: 'auto_submit_enabled',
      environment: 'production',
      context: { plan: 'pro', userId: 'user123' },
      asOf: '2026-01-01T00:00:00Z',
    });
  });

  // Without as_of both routes evaluate from the gateway's local state (apps/e2e ofrep and flags-api cover that);
  // an as-of evaluation reads the history, so it still goes to the flags service, as these two show.
  it('evaluates with a JSON context (POST), reporting the rule and error code', async () => {
    flags.answer = () => ({ ok: true, result: { value: false, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' } });
    const response = await call('POST', '/api/v1/feature-flags/missing/evaluate', {
      environment: 'staging',
      context: { user_id: 'u1', country: 'NL', age: 42 },
      default_value: false,
      as_of: '2026-01-01T00:00:00Z',
    });
    expect(response.status).toBe(200);
    expect(await jsonOf(response)).toEqual({
      flag: 'missing', value: false, enabled: false, variant: null, reason: 'ERROR', version: null, error_code: 'FLAG_NOT_FOUND',
    });
    expect(flags.received[0]!.body).toEqual({
      key: 'missing', environment: 'staging', context: { country: 'NL', age: 42, userId: 'u1' }, defaultValue: false, asOf: '2026-01-01T00:00:00Z',
    });
  });

  it('turns If-Match into expectedVersion and a version conflict reply into 409', async () => {
    flags.answer = () => ({ ok: false, error: { code: 'FLAGS.VERSION_CONFLICT', message: 'expected 3, at 4', details: { expected: 3, actual: 4 } } });
    const response = await call('PUT', '/api/v1/feature-flags/k/environments/production', { enabled: false }, { ...AUTH, 'if-match': '"3"' });
    expect(response.status).toBe(409);
    expect(await jsonOf(response)).toEqual({ code: 'FLAGS.VERSION_CONFLICT', message: 'expected 3, at 4', details: { expected: 3, actual: 4 } });
    expect(flags.received[0]!.subject).toBe('rg.cmd.flags.toggle');
    expect(flags.received[0]!.body['payload']).toEqual({ key: 'k', environment: 'production', enabled: false, expectedVersion: 3 });
  });

  it.each([
    ['FLAGS.NOT_FOUND', 404],
    ['FLAGS.ALREADY_EXISTS', 409],
    ['GENERIC.VALIDATION', 400],
  ])('maps a %s reply to %i', async (code, status) => {
    flags.answer = () => ({ ok: false, error: { code, message: 'from the service', details: { key: 'k' } } });
    const response = await call('GET', '/api/v1/feature-flags/k');
    expect(response.status).toBe(status);
    expect(await jsonOf(response)).toEqual({ code, message: 'from the service', details: { key: 'k' } });
  });

  it('answers 504 GENERIC.TIMEOUT when the service does not reply in time', async () => {
    flags.answer = () => 'silence';
    const response = await call('DELETE', '/api/v1/feature-flags/k');
    expect(response.status).toBe(504);
    expect((await jsonOf(response)).code).toBe('GENERIC.TIMEOUT');
  });

  it('answers 503 GENERIC.UNAVAILABLE when nothing listens', async () => {
    await flags.stop();
    try {
      const response = await call('GET', '/api/v1/feature-flags/k');
      expect(response.status).toBe(503);
      expect((await jsonOf(response)).code).toBe('GENERIC.UNAVAILABLE');
    } finally {
      flags.start();
      await nc.flush();
    }
  });

  it('GET returns the flag in snake_case with its ETag; DELETE archives (204); restore unarchives', async () => {
    flags.answer = (subject) => {
      if (subject === 'rg.qry.flags.get') return { ok: true, result: { flag: flagOf('k', 5), position: '77', updatedAt: '2026-01-01T00:00:00.000Z' } };
      return { ok: true, result: { key: 'k', version: 6, position: '78', duplicate: false, flag: { ...flagOf('k', 6), archived: subject.endsWith('.archive') } } };
    };
    const get = await call('GET', '/api/v1/feature-flags/k');
    expect(get.status).toBe(200);
    expect(get.headers.get('etag')).toBe('"5"');
    expect(await jsonOf(get)).toMatchObject({ key: 'k', version: 5, status: 'active', position: '77', environments: { production: { default_rollout: { ppm: 100_000 } } } });
    const del = await call('DELETE', '/api/v1/feature-flags/k');
    expect(del.status).toBe(204);
    const restore = await call('POST', '/api/v1/feature-flags/k/restore');
    expect(restore.status).toBe(200);
    expect(flags.received.map((r) => r.subject)).toEqual(['rg.qry.flags.get', 'rg.cmd.flags.archive', 'rg.cmd.flags.unarchive']);
    expect(flags.received[1]!.body['payload']).toEqual({ key: 'k' });
  });

  it('PUT sends one update command (no read first) and names its validation problems as the body does', async () => {
    flags.answer = () => ({ ok: true, result: { key: 'k', version: 7, position: '7', duplicate: false, appended: 3, flag: flagOf('k', 7) } });
    const response = await call('PUT', '/api/v1/feature-flags/k', { description: 'new', rollout_percentage: 25, target_environments: ['production', 'staging'] }, { ...AUTH, 'idempotency-key': 'put-1', 'if-match': '"4"' });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('"7"');
    const body = await jsonOf(response);
    expect(body).toMatchObject({ key: 'k', version: 7, commands: ['update'] });
    expect(flags.received.map((r) => [r.subject, r.body['commandId'], r.body['payload']])).toEqual([
      [
        'rg.cmd.flags.update',
        'put-1',
        { key: 'k', details: { description: 'new' }, rollout: { strategy: 'percentage', percentage: 25 }, targetEnvironments: ['production', 'staging'], expectedVersion: 4 },
      ],
    ]);
    flags.answer = () => ({ ok: false, error: { code: 'GENERIC.VALIDATION', message: 'invalid update', details: { problems: [{ path: 'rollout.percentage', message: 'is required by the percentage strategy' }] } } });
    const refused = await call('PUT', '/api/v1/feature-flags/k', { rollout_strategy: 'percentage' });
    expect(refused.status).toBe(400);
    expect((await jsonOf(refused)).details).toEqual({ problems: [{ path: 'rollout_percentage', message: 'is required by the percentage strategy' }] });
  });

  it('sends the environment, rules, users, revert and segment commands with camelCase payloads', async () => {
    flags.answer = () => ({ ok: true, result: { key: 'k', version: 2, position: '2', duplicate: false, flag: flagOf('k', 2) } });
    await call('PUT', '/api/v1/feature-flags/k/environments/eu_west/rollout', { rollout_strategy: 'gradual', rollout_percentage: 50, gradual_start: '2026-01-01T00:00:00Z', gradual_duration_hours: 1 });
    await call('PUT', '/api/v1/feature-flags/k/environments/eu_west/rules', { rules: [{ id: 'r1', conditions: [{ attribute: 'plan', operator: 'in', values: ['pro'], case_insensitive: true }] }] });
    await call('PATCH', '/api/v1/feature-flags/k/environments/eu_west/users', { add: ['u1'], remove: ['u2'] });
    await call('POST', '/api/v1/feature-flags/k/revert', { to_version: 1 });
    await call('PUT', '/api/v1/feature-flags/k/environments/eu_west', { enabled: true, default_rollout: { type: 'all_users' } });
    const start = Date.parse('2026-01-01T00:00:00Z');
    expect(flags.received.map((r) => [r.subject, r.body['payload']])).toEqual([
      ['rg.cmd.flags.change-rollout', { key: 'k', environment: 'eu_west', rollout: { type: 'gradual', from: 0, to: 500_000, start, end: start + 3_600_000 } }],
      ['rg.cmd.flags.set-rules', { key: 'k', environment: 'eu_west', rules: [{ id: 'r1', conditions: [{ attribute: 'plan', operator: 'in', values: ['pro'], caseInsensitive: true }] }] }],
      ['rg.cmd.flags.change-user-list', { key: 'k', environment: 'eu_west', add: ['u1'], remove: ['u2'] }],
      ['rg.cmd.flags.revert', { key: 'k', toVersion: 1 }],
      ['rg.cmd.flags.configure-environment', { key: 'k', environment: 'eu_west', config: { enabled: true, defaultRollout: { type: 'all_users' }, rules: [] } }],
    ]);
    const both = await call('POST', '/api/v1/feature-flags/k/revert', { to_version: 1, as_of: '2026-01-01T00:00:00Z' });
    expect(both.status).toBe(400);
  });

  it('pages the audit trail through the service cursor and queries with raw query objects', async () => {
    flags.answer = () => ({
      ok: true,
      result: { items: [{ key: 'k', version: 1, eventType: 'FlagCreated', actor: 'admin', globalPosition: '10', recordedAt: 't' }], next: '812.10' },
    });
    const response = await call('GET', '/api/v1/audit?key=k&actor=admin&limit=1&cursor=800.5');
    expect(response.status).toBe(200);
    expect(await jsonOf(response)).toEqual({
      entries: [{ key: 'k', version: 1, event_type: 'FlagCreated', actor: 'admin', global_position: '10', recorded_at: 't' }],
      next_cursor: '812.10',
    });
    expect(flags.received[0]!.subject).toBe('rg.qry.flags.audit');
    expect(flags.received[0]!.body).toEqual({ key: 'k', actor: 'admin', after: '800.5', limit: 1 });
    // A bare position is no cursor: alone it is not a safe place to continue from.
    expect((await call('GET', '/api/v1/audit?cursor=5')).status).toBe(400);
  });

  it('asks rg.qry.flags.outcomes for a flag\'s outcomes and answers in snake_case', async () => {
    flags.answer = () => ({
      ok: true,
      result: { key: 'k', environment: 'production', granularity: 'hour', rows: [], totals: [{ variant: 'on', requests: 4, errors: 1, errorUnits: 1, errorRate: 0.25 }] },
    });
    const response = await call('GET', '/api/v1/feature-flags/k/outcomes?since=2026-01-01T00:00:00Z&environment=production&granularity=hour');
    expect(response.status).toBe(200);
    expect(await jsonOf(response)).toMatchObject({ key: 'k', totals: [{ variant: 'on', requests: 4, error_units: 1, error_rate: 0.25 }] });
    expect(flags.received[0]!.subject).toBe('rg.qry.flags.outcomes');
    expect(flags.received[0]!.body).toEqual({ key: 'k', since: '2026-01-01T00:00:00Z', environment: 'production', granularity: 'hour' });
    expect((await call('GET', '/api/v1/feature-flags/k/outcomes?granularity=week')).status).toBe(400);
  });

  it('records request durations by route pattern and status', async () => {
    flags.answer = () => ({ ok: false, error: { code: 'FLAGS.NOT_FOUND', message: 'no' } });
    await call('GET', '/api/v1/feature-flags/some-flag');
    const metrics = await (await call('GET', '/metrics', undefined, {})).text();
    expect(metrics).toMatch(/rollgate_gateway_http_request_duration_seconds_count\{service="gateway",method="GET",route="\/api\/v1\/feature-flags\/:key",status="404"\} \d+/);
    expect(metrics).not.toContain('some-flag');
  });
});
