import { jest } from '@jest/globals';
import { BusClient, RollgateSystem, eventCount, expectError, sendOversized, uniqueKey, type ApiResponse } from './harness/index.js';

// The e2e project's testTimeout in jest.config.js is not applied (Jest 30 reads it only globally).
jest.setTimeout(90_000);

/**
 * Bad input over HTTP and over NATS: a 4xx (an error reply) with a stable code, and not one event appended
 * (counted in es.events as the service role). The service keeps answering afterwards.
 */
let system: RollgateSystem;
let bus: BusClient;
const target = uniqueKey('bad_target');
const archived = uniqueKey('bad_archived');

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
  bus = await BusClient.connect(system.nats);
  const created = await system.api('POST', FLAGS, { name: target, flag_type: 'user_list', user_ids: ['alice'], target_environments: ['production'] });
  expect(created.status).toBe(201);
  expect((await system.api('POST', FLAGS, { name: archived, target_environments: ['production'] })).status).toBe(201);
  expect((await system.api('DELETE', `${FLAGS}/${archived}`)).status).toBe(204);
}, 120_000);

afterAll(async () => {
  await bus?.close();
  await system?.stop();
});

const FLAGS = '/api/v1/feature-flags';
const fresh = (): string => uniqueKey('bad');
/** `{ a: { a: … { a: 1 } } }`, `depth` objects deep. */
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

interface HttpCase {
  name: string;
  send: () => Promise<ApiResponse>;
  status: number;
  code: string;
  field?: string;
}

const post = (body: unknown, headers: Record<string, string> = {}) => () => system.api('POST', FLAGS, body, headers);

const httpCases: HttpCase[] = [
  { name: 'an unknown field', send: post({ name: fresh(), colour: 'red' }), status: 400, code: 'GENERIC.VALIDATION', field: 'colour' },
  { name: 'a percentage above 100', send: post({ name: fresh(), rollout_percentage: 100.5 }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_percentage' },
  { name: 'a negative percentage', send: post({ name: fresh(), rollout_percentage: -1 }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_percentage' },
  { name: 'a key with a dot', send: post({ name: 'auto.submit' }), status: 400, code: 'GENERIC.VALIDATION', field: 'name' },
  { name: 'a key in upper case', send: post({ name: 'AutoSubmit' }), status: 400, code: 'GENERIC.VALIDATION', field: 'name' },
  { name: 'a key of 101 characters', send: post({ name: 'a'.repeat(101) }), status: 400, code: 'GENERIC.VALIDATION', field: 'name' },
  { name: 'a percentage as a string', send: post({ name: fresh(), rollout_percentage: 'ten' }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_percentage' },
  { name: 'an unknown flag_type', send: post({ name: fresh(), flag_type: 'bogus' }), status: 400, code: 'GENERIC.VALIDATION', field: 'flag_type' },
  { name: 'an unknown rollout_strategy', send: post({ name: fresh(), rollout_strategy: 'everyone' }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_strategy' },
  { name: 'target_environments as a string', send: post({ name: fresh(), target_environments: 'production' }), status: 400, code: 'GENERIC.VALIDATION', field: 'target_environments' },
  { name: 'numeric user ids', send: post({ name: fresh(), flag_type: 'user_list', user_ids: [1, 2] }), status: 400, code: 'GENERIC.VALIDATION', field: 'user_ids' },
  { name: 'a numeric description', send: post({ name: fresh(), description: 42 }), status: 400, code: 'GENERIC.VALIDATION', field: 'description' },
  { name: 'an array body', send: post([{ name: fresh() }]), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'malformed JSON', send: post('{"name": "half'), status: 400, code: 'GENERIC.VALIDATION' },
  {
    name: 'a body over 1 MiB',
    send: () => sendOversized(system, 'PUT', `${FLAGS}/${target}`, JSON.stringify({ description: 'x'.repeat(1_100_000) })),
    status: 413,
    code: 'GENERIC.PAYLOAD_TOO_LARGE',
  },
  {
    // Routes that carry user lists (POST /feature-flags, the segment routes) take up to 8 MiB.
    name: 'a create body over 8 MiB',
    send: () => sendOversized(system, 'POST', FLAGS, JSON.stringify({ name: fresh(), description: 'x'.repeat(8_500_000) })),
    status: 413,
    code: 'GENERIC.PAYLOAD_TOO_LARGE',
  },
  {
    name: 'a create whose command would not fit one bus message',
    send: post({ flag: { key: fresh(), name: 'x', type: 'user_list', environments: { production: { enabled: true, default_rollout: { type: 'user_list', users: Array.from({ length: 50_000 }, (_, i) => `user-with-a-long-id-${i}`) } } } } }),
    status: 413,
    code: 'GENERIC.PAYLOAD_TOO_LARGE',
  },
  {
    name: 'a flag that would outgrow 256 KiB',
    send: post({ flag: { key: fresh(), name: 'x', type: 'user_list', environments: { production: { enabled: true, default_rollout: { type: 'user_list', users: Array.from({ length: 30_000 }, (_, i) => `user-${i}`) } } } } }),
    status: 413,
    code: 'FLAGS.DEFINITION_TOO_LARGE',
  },
  {
    name: 'a model-form rollout above 1 000 000 ppm',
    send: post({ flag: { key: fresh(), name: 'x', type: 'boolean', environments: { production: { enabled: true, default_rollout: { type: 'percentage', ppm: 2_000_000 } } } } }),
    status: 400,
    code: 'GENERIC.VALIDATION',
  },
  {
    name: 'an unknown field inside a model-form rollout',
    send: post({ flag: { key: fresh(), name: 'x', type: 'boolean', environments: { production: { enabled: true, default_rollout: { type: 'all_users', everyone: true } } } } }),
    status: 400,
    code: 'GENERIC.VALIDATION',
  },
  {
    name: 'an unknown rule operator',
    send: post({
      flag: {
        key: fresh(),
        name: 'x',
        type: 'boolean',
        environments: { production: { enabled: true, default_rollout: { type: 'none' }, rules: [{ id: 'r', conditions: [{ attribute: 'plan', operator: 'roughly', values: ['a'] }] }] } },
      },
    }),
    status: 400,
    code: 'GENERIC.VALIDATION',
  },
  { name: 'simple fields mixed with the model form', send: post({ name: fresh(), flag: { key: 'x' } }), status: 400, code: 'GENERIC.VALIDATION' },
  // What Postgres jsonb cannot hold (a NUL, a lone surrogate), too deep a body and nulls where a value is required.
  { name: 'a NUL in the key', send: post({ name: 'bad\u0000key' }), status: 400, code: 'GENERIC.VALIDATION', field: 'name' },
  { name: 'a NUL in the description', send: post({ name: fresh(), description: 'a\u0000b' }), status: 400, code: 'GENERIC.VALIDATION', field: 'description' },
  { name: 'a lone surrogate in the description', send: post({ name: fresh(), description: 'x\ud800y' }), status: 400, code: 'GENERIC.VALIDATION', field: 'description' },
  { name: 'a lone low surrogate in the display name', send: post({ name: fresh(), display_name: '\udc00' }), status: 400, code: 'GENERIC.VALIDATION', field: 'display_name' },
  { name: 'a NUL in a user id', send: post({ name: fresh(), flag_type: 'user_list', user_ids: ['alice', 'bo\u0000b'] }), status: 400, code: 'GENERIC.VALIDATION', field: 'user_ids' },
  { name: 'a lone surrogate in a tag', send: post({ name: fresh(), tags: ['\ud83d'] }), status: 400, code: 'GENERIC.VALIDATION', field: 'tags' },
  { name: 'a NUL in a field name', send: post({ name: fresh(), 'x\u0000': 1 }), status: 400, code: 'GENERIC.VALIDATION' },
  {
    name: 'a NUL deep in a model-form flag',
    send: post({ flag: { key: fresh(), name: 'x', description: 'a\u0000', type: 'boolean', environments: { production: { enabled: true, default_rollout: { type: 'all_users' } } } } }),
    status: 400,
    code: 'GENERIC.VALIDATION',
    field: 'flag',
  },
  { name: 'users: a NUL in an added user', send: () => system.api('PATCH', `${FLAGS}/${target}/environments/production/users`, { add: ['\u0000'] }), status: 400, code: 'GENERIC.VALIDATION', field: 'add' },
  { name: 'PUT: a lone surrogate in the description', send: () => system.api('PUT', `${FLAGS}/${target}`, { description: '\udfff' }), status: 400, code: 'GENERIC.VALIDATION', field: 'description' },
  { name: 'a body nested 1 300 deep', send: post({ name: fresh(), flag: nested(1_300) }), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'a body nested 65 deep', send: post({ flag: nested(65) }), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'a null flag', send: post({ flag: null }), status: 400, code: 'GENERIC.VALIDATION', field: 'flag' },
  { name: 'a null rollout_percentage', send: post({ name: fresh(), rollout_percentage: null }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_percentage' },
  { name: 'a null description', send: post({ name: fresh(), description: null }), status: 400, code: 'GENERIC.VALIDATION', field: 'description' },
  { name: 'PUT: null target_environments', send: () => system.api('PUT', `${FLAGS}/${target}`, { target_environments: null }), status: 400, code: 'GENERIC.VALIDATION', field: 'target_environments' },
  { name: 'PUT: a null rollout_percentage', send: () => system.api('PUT', `${FLAGS}/${target}`, { rollout_percentage: null }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_percentage' },
  { name: 'rollout: a null rollout_percentage', send: () => system.api('PUT', `${FLAGS}/${target}/environments/production/rollout`, { rollout_percentage: null }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_percentage' },
  { name: 'toggle: a null enabled', send: () => system.api('PUT', `${FLAGS}/${target}/environments/production`, { enabled: null }), status: 400, code: 'GENERIC.VALIDATION', field: 'enabled' },
  // Answered by Fastify (a path parameter over maxParamLength) and by Node (over maxHeaderSize) before Nest.
  { name: 'a 1 100-character key in the path', send: () => system.api('GET', `${FLAGS}/${'a'.repeat(1_100)}`), status: 414, code: 'GENERIC.URI_TOO_LONG' },
  { name: 'a malformed URL', send: () => system.api('GET', `${FLAGS}/%E0%A4%A`), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'a 20 000-character query string', send: () => system.api('GET', `${FLAGS}/${target}/evaluate?user_id=${'u'.repeat(20_000)}`), status: 431, code: 'GENERIC.HEADERS_TOO_LARGE' },
  { name: 'headers too large', send: () => system.api('GET', `${FLAGS}/${target}`, undefined, { 'x-padding': 'p'.repeat(20_000) }), status: 431, code: 'GENERIC.HEADERS_TOO_LARGE' },
  { name: 'no bearer token', send: post({ name: fresh() }, { authorization: '' }), status: 401, code: 'GENERIC.UNAUTHORIZED' },
  { name: 'a wrong bearer token', send: post({ name: fresh() }, { authorization: 'Bearer not-the-admin-token-at-all' }), status: 401, code: 'GENERIC.UNAUTHORIZED' },
  { name: 'an existing key', send: post({ name: target }), status: 409, code: 'FLAGS.ALREADY_EXISTS' },
  { name: 'PUT: a percentage above 100', send: () => system.api('PUT', `${FLAGS}/${target}`, { rollout_percentage: 150 }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_percentage' },
  { name: 'PUT: an unknown field', send: () => system.api('PUT', `${FLAGS}/${target}`, { enabled_for: 'all' }), status: 400, code: 'GENERIC.VALIDATION', field: 'enabled_for' },
  { name: 'PUT: nothing to update', send: () => system.api('PUT', `${FLAGS}/${target}`, {}), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'PUT: a stale If-Match', send: () => system.api('PUT', `${FLAGS}/${target}`, { description: 'x' }, { 'if-match': '"99"' }), status: 409, code: 'FLAGS.VERSION_CONFLICT' },
  { name: 'PUT: a malformed If-Match', send: () => system.api('PUT', `${FLAGS}/${target}`, { description: 'x' }, { 'if-match': 'latest' }), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'PUT: an invalid key in the path', send: () => system.api('PUT', `${FLAGS}/Bad.Key`, { description: 'x' }), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'PUT: an unknown flag', send: () => system.api('PUT', `${FLAGS}/${fresh()}`, { description: 'x' }), status: 404, code: 'FLAGS.NOT_FOUND' },
  { name: 'PUT: an archived flag', send: () => system.api('PUT', `${FLAGS}/${archived}`, { rollout_percentage: 50 }), status: 409, code: 'FLAGS.ARCHIVED' },
  { name: 'rollout: a percentage above 100', send: () => system.api('PUT', `${FLAGS}/${target}/environments/production/rollout`, { rollout_percentage: 101 }), status: 400, code: 'GENERIC.VALIDATION', field: 'rollout_percentage' },
  { name: 'toggle: enabled as a string', send: () => system.api('PUT', `${FLAGS}/${target}/environments/production`, { enabled: 'yes' }), status: 400, code: 'GENERIC.VALIDATION', field: 'enabled' },
  { name: 'users: add as a string', send: () => system.api('PATCH', `${FLAGS}/${target}/environments/production/users`, { add: 'carol' }), status: 400, code: 'GENERIC.VALIDATION', field: 'add' },
  { name: 'users: an unknown environment', send: () => system.api('PATCH', `${FLAGS}/${target}/environments/qa/users`, { add: ['carol'] }), status: 404, code: 'FLAGS.ENVIRONMENT_NOT_FOUND' },
  { name: 'users: an unknown flag', send: () => system.api('PATCH', `${FLAGS}/${fresh()}/environments/production/users`, { add: ['carol'] }), status: 404, code: 'FLAGS.NOT_FOUND' },
  { name: 'DELETE: an unknown flag', send: () => system.api('DELETE', `${FLAGS}/${fresh()}`), status: 404, code: 'FLAGS.NOT_FOUND' },
  { name: 'GET: an unknown flag', send: () => system.api('GET', `${FLAGS}/${fresh()}`), status: 404, code: 'FLAGS.NOT_FOUND' },
  { name: 'GET: a 101-character key', send: () => system.api('GET', `${FLAGS}/${'a'.repeat(101)}`), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'evaluate: an invalid environment', send: () => system.api('GET', `${FLAGS}/${target}/evaluate?user_id=a&environment=Prod!`), status: 400, code: 'GENERIC.VALIDATION', field: 'environment' },
  { name: 'evaluate: as_of that is no time', send: () => system.api('GET', `${FLAGS}/${target}/evaluate?user_id=a&as_of=yesterday`), status: 400, code: 'GENERIC.VALIDATION', field: 'as_of' },
  { name: 'revert: both to_version and as_of', send: () => system.api('POST', `${FLAGS}/${target}/revert`, { to_version: 1, as_of: new Date().toISOString() }), status: 400, code: 'GENERIC.VALIDATION' },
  { name: 'revert: a version beyond any stream (found by the fuzz test: was 500)', send: () => system.api('POST', `${FLAGS}/${target}/revert`, { to_version: 1.7e248 }), status: 400, code: 'GENERIC.VALIDATION', field: 'to_version' },
  { name: 'revert: a version that never was', send: () => system.api('POST', `${FLAGS}/${target}/revert`, { to_version: 99 }), status: 404, code: 'FLAGS.REVERT_TARGET_NOT_FOUND' },
];

describe('bad input over HTTP: a 4xx with a stable code and the log unchanged', () => {
  it.each(httpCases)('$name → $status $code', async ({ send, status, code, field }) => {
    const before = await eventCount(system);
    const response = await send();
    expectError(response, status, code, field);
    if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await eventCount(system)).toBe(before);
  });

  it('an unknown flag evaluates to the default with reason ERROR / FLAG_NOT_FOUND, not an error', async () => {
    const before = await eventCount(system);
    const response = await system.api('POST', `${FLAGS}/${fresh()}/evaluate`, { user_id: 'a', default_value: false });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ value: false, enabled: false, reason: 'ERROR', error_code: 'FLAG_NOT_FOUND' });
    expect(await eventCount(system)).toBe(before);
  });
});

interface BusCase {
  name: string;
  subject: string;
  body: unknown;
  code: string;
}

const envelope = (payload: unknown, extra: Record<string, unknown> = {}) => ({ commandId: `bad-${fresh()}`, actor: 'e2e', payload, ...extra });
const goodFlag = (key: string) => ({ key, name: key, type: 'boolean', environments: { production: { enabled: true, defaultRollout: { type: 'all_users' } } } });

const busCases: BusCase[] = [
  { name: 'malformed JSON', subject: 'rg.cmd.flags.create', body: '{"commandId": "x", ', code: 'GENERIC.VALIDATION' },
  { name: 'a rollout type named __proto__ (found by the fuzz test: was GENERIC.INTERNAL)', subject: 'rg.cmd.flags.change-rollout', body: { commandId: fresh(), actor: 'e2e', payload: { key: target, environment: 'production', rollout: { type: '__proto__', ppm: 1 } } }, code: 'GENERIC.VALIDATION' },
  { name: 'an empty message', subject: 'rg.cmd.flags.create', body: '', code: 'GENERIC.VALIDATION' },
  { name: 'a JSON array', subject: 'rg.cmd.flags.create', body: [goodFlag(fresh())], code: 'GENERIC.VALIDATION' },
  { name: 'no commandId', subject: 'rg.cmd.flags.create', body: { actor: 'e2e', payload: { flag: goodFlag(fresh()) } }, code: 'GENERIC.VALIDATION' },
  { name: 'an unknown envelope field', subject: 'rg.cmd.flags.create', body: envelope({ flag: goodFlag(fresh()) }, { priority: 'high' }), code: 'GENERIC.VALIDATION' },
  { name: 'the seed fields instead of a flag', subject: 'rg.cmd.flags.create', body: envelope({ name: fresh(), rollout_percentage: 10 }), code: 'GENERIC.VALIDATION' },
  { name: 'an invalid key', subject: 'rg.cmd.flags.create', body: envelope({ flag: goodFlag('Bad.Key') }), code: 'GENERIC.VALIDATION' },
  {
    name: 'ppm above 1 000 000',
    subject: 'rg.cmd.flags.create',
    body: envelope({ flag: { ...goodFlag(fresh()), environments: { production: { enabled: true, defaultRollout: { type: 'percentage', ppm: 1_000_001 } } } } }),
    code: 'GENERIC.VALIDATION',
  },
  {
    name: 'an unknown field inside the definition',
    subject: 'rg.cmd.flags.create',
    body: envelope({ flag: { ...goodFlag(fresh()), colour: 'red' } }),
    code: 'GENERIC.VALIDATION',
  },
  { name: 'a NUL in the flag name', subject: 'rg.cmd.flags.create', body: envelope({ flag: { ...goodFlag(fresh()), name: 'a\u0000b' } }), code: 'GENERIC.VALIDATION' },
  { name: 'a lone surrogate in the actor', subject: 'rg.cmd.flags.create', body: { ...envelope({ flag: goodFlag(fresh()) }), actor: '\ud800' }, code: 'GENERIC.VALIDATION' },
  { name: 'a payload nested 1 300 deep', subject: 'rg.cmd.flags.create', body: envelope({ flag: { ...goodFlag(fresh()), description: nested(1_300) } }), code: 'GENERIC.VALIDATION' },
  { name: 'toggle with enabled as a string', subject: 'rg.cmd.flags.toggle', body: envelope({ key: target, environment: 'production', enabled: 'yes' }), code: 'GENERIC.VALIDATION' },
  { name: 'a rollout change of an unknown flag', subject: 'rg.cmd.flags.change-rollout', body: envelope({ key: fresh(), environment: 'production', rollout: { type: 'all_users' } }), code: 'FLAGS.NOT_FOUND' },
  { name: 'evaluate with an invalid key', subject: 'rg.qry.flags.evaluate', body: { key: 'Bad.Key', environment: 'production', context: {} }, code: 'GENERIC.VALIDATION' },
  { name: 'get of an unknown flag', subject: 'rg.qry.flags.get', body: { key: fresh() }, code: 'FLAGS.NOT_FOUND' },
];

describe('bad input over NATS: an error reply with a stable code, the log unchanged, the service still answering', () => {
  it.each(busCases)('$subject with $name → $code', async ({ subject, body, code }) => {
    const before = await eventCount(system);
    const reply = await bus.request(subject, body);
    expect(reply).toMatchObject({ ok: false, error: { code, message: expect.any(String) } });
    expect(await eventCount(system)).toBe(before);
  });

  it('still serves queries and commands after all of that', async () => {
    const listed = await bus.request<unknown[]>('rg.qry.flags.list', {});
    expect(listed.ok).toBe(true);
    const before = await eventCount(system);
    const key = fresh();
    const created = await bus.request('rg.cmd.flags.create', envelope({ flag: goodFlag(key) }));
    expect(created).toMatchObject({ ok: true, result: { key, version: 1 } });
    expect(await eventCount(system)).toBe(before + 1);
    const evaluated = await bus.request('rg.qry.flags.evaluate', { key, environment: 'production', context: { userId: 'a' } });
    expect(evaluated).toMatchObject({ ok: true, result: { value: true, flagVersion: 1 } });
  });
});
