import { jest } from '@jest/globals';
import fc from 'fast-check';
import pg from 'pg';
import { BusClient, RollgateSystem, uniqueKey } from './harness/index.js';

jest.setTimeout(600_000);

/**
 * Mutated requests over HTTP and NATS, as a hostile or careless client sends them: every answer is a 2xx or a 4xx
 * (an ok or error reply) with the API's error shape, never a 5xx, a GENERIC.INTERNAL or a hang; the services keep
 * answering; and every refused request leaves es.events exactly as it was. Deterministic (seeded), so a failure
 * reproduces; the figures are printed at the end.
 */
const SEED = 20261201;
const HTTP_RUNS = 6_000;
const NATS_RUNS = 4_000;
const FLAGS = '/api/v1/feature-flags';

let system: RollgateSystem;
let bus: BusClient;
let db: pg.Client;
const target = uniqueKey('fuzz_target');
const list = uniqueKey('fuzz_list');

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
  bus = await BusClient.connect(system.nats);
  db = new pg.Client({ connectionString: system.appDatabaseUrl });
  await db.connect();
  expect((await system.api('POST', FLAGS, { name: target, rollout_percentage: 10, target_environments: ['production'] })).status).toBe(201);
  expect((await system.api('POST', FLAGS, { name: list, flag_type: 'user_list', user_ids: ['alice'], target_environments: ['production'] })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await db?.end();
  await bus?.close();
  await system?.stop();
});

const eventCount = async (): Promise<number> => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM es.events')).rows[0]!.n;

type Json = unknown;
interface Template {
  method: string;
  path: () => string;
  body?: () => Json;
}

const HTTP_TEMPLATES: Template[] = [
  { method: 'POST', path: () => FLAGS, body: () => ({ name: uniqueKey('fz'), description: 'd', flag_type: 'percentage', rollout_strategy: 'percentage', rollout_percentage: 10, target_environments: ['production'], user_ids: ['u1'] }) },
  { method: 'PUT', path: () => `${FLAGS}/${target}`, body: () => ({ description: 'x', rollout_percentage: 20, target_environments: ['production', 'staging'] }) },
  { method: 'PUT', path: () => `${FLAGS}/${target}/environments/production`, body: () => ({ enabled: true }) },
  { method: 'PUT', path: () => `${FLAGS}/${target}/environments/production/rollout`, body: () => ({ rollout_percentage: 30 }) },
  { method: 'PUT', path: () => `${FLAGS}/${target}/environments/production/rules`, body: () => ({ rules: [{ id: 'r1', conditions: [{ attribute: 'plan', operator: 'in', values: ['pro'] }], rollout: { type: 'all_users' } }] }) },
  { method: 'PATCH', path: () => `${FLAGS}/${list}/environments/production/users`, body: () => ({ add: ['bob'], remove: ['carol'] }) },
  { method: 'POST', path: () => `${FLAGS}/${target}/evaluate`, body: () => ({ user_id: 'u', environment: 'production', context: { plan: 'pro' } }) },
  { method: 'POST', path: () => `${FLAGS}/${target}/revert`, body: () => ({ to_version: 1 }) },
  { method: 'GET', path: () => `${FLAGS}/${target}/evaluate?user_id=u&environment=production` },
  { method: 'GET', path: () => `/api/v1/audit?limit=5` },
];

const envelope = (payload: Json): Json => ({ commandId: uniqueKey('fz'), actor: 'fuzzer', reason: 'fuzz', payload });
const NATS_TEMPLATES: Array<{ subject: string; body: () => Json }> = [
  { subject: 'rg.cmd.flags.create', body: () => envelope({ flag: { key: uniqueKey('fz'), name: 'n', type: 'boolean', environments: { production: { enabled: true, rules: [], defaultRollout: { type: 'all_users' } } } } }) },
  { subject: 'rg.cmd.flags.toggle', body: () => envelope({ key: target, environment: 'production', enabled: false }) },
  { subject: 'rg.cmd.flags.change-rollout', body: () => envelope({ key: target, environment: 'production', rollout: { type: 'percentage', ppm: 50_000 } }) },
  { subject: 'rg.cmd.flags.update', body: () => envelope({ key: target, details: { description: 'u' }, targetEnvironments: ['production'] }) },
  { subject: 'rg.cmd.flags.change-user-list', body: () => envelope({ key: list, environment: 'production', add: ['dave'], remove: [] }) },
  { subject: 'rg.cmd.flags.define-segment', body: () => envelope({ segment: { key: uniqueKey('seg'), name: 's', conditions: [] } }) },
  { subject: 'rg.qry.flags.evaluate', body: () => ({ key: target, environment: 'production', context: { userId: 'u' } }) },
  { subject: 'rg.qry.flags.get', body: () => ({ key: target }) },
  { subject: 'rg.qry.flags.history', body: () => ({ key: target, limit: 3 }) },
];

const NASTY: Json[] = [null, '', '\u0000', 'a\u0000b', '\ud800', '\udfff x', -1, 0, 1e308, -1e308, 1.5, [], {}, true, 'x'.repeat(5_000), [null], { $ne: 1 }, '__proto__', 'production', '../../etc'];

/** One mutation: which template, what to do, where, and with what. */
const mutation = fc.record({
  template: fc.nat(),
  op: fc.integer({ min: 0, max: 5 }),
  where: fc.nat(),
  value: fc.oneof(fc.constantFrom(...NASTY), fc.jsonValue({ maxDepth: 4 }), fc.string({ unit: 'binary', maxLength: 40 })),
  key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'extra', ''), fc.string({ maxLength: 12 })),
  raw: fc.string({ unit: 'binary', maxLength: 60 }),
});
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** Every object or array reachable in `value`, the root first. */
function containers(value: Json, into: Array<Record<string, Json> | Json[]> = []): Array<Record<string, Json> | Json[]> {
  if (typeof value === 'object' && value !== null) {
    into.push(value as Record<string, Json>);
    for (const child of Object.values(value as Record<string, Json>)) containers(child, into);
  }
  return into;
}

/** The mutated body, or a raw string to send as it is. */
function mutate(body: Json, m: Mutation): { json: Json } | { raw: string } {
  if (m.op === 5) return { raw: m.raw };
  const all = containers(body);
  if (m.op === 4 || all.length === 0) return { json: m.value };
  const at = all[m.where % all.length]!;
  const keys = Object.keys(at);
  const existing = keys.length === 0 ? undefined : keys[m.where % keys.length]!;
  if (m.op === 0 && existing !== undefined) (at as Record<string, Json>)[existing] = m.value; // wrong value
  else if (m.op === 1 && existing !== undefined) delete (at as Record<string, Json>)[existing]; // missing value
  else if (m.op === 2) Object.defineProperty(at, m.key, { value: m.value, enumerable: true, writable: true, configurable: true }); // unknown field
  else {
    let deep: Json = m.value; // deep nesting
    for (let i = 0; i < 200 + (m.where % 2_000); i++) deep = { a: deep };
    (at as Record<string, Json>)[existing ?? 'deep'] = deep;
  }
  return { json: body };
}

interface Tally {
  sent: number;
  accepted: number;
  refused: number;
  byStatus: Record<string, number>;
  failures: string[];
}
const tally = (): Tally => ({ sent: 0, accepted: 0, refused: 0, byStatus: {}, failures: [] });

it(`answers ${HTTP_RUNS} mutated HTTP requests with 2xx or 4xx, never 5xx, and refused ones append nothing`, async () => {
  const t = tally();
  for (const m of fc.sample(mutation, { numRuns: HTTP_RUNS, seed: SEED })) {
    const template = HTTP_TEMPLATES[m.template % HTTP_TEMPLATES.length]!;
    const before = await eventCount();
    const mutated = template.body === undefined ? undefined : mutate(template.body(), m);
    const body = mutated === undefined ? undefined : 'raw' in mutated ? mutated.raw : JSON.stringify(mutated.json);
    const response = await system.api(template.method, template.path(), body, body === undefined ? {} : { 'content-type': 'application/json' });
    t.sent++;
    t.byStatus[response.status] = (t.byStatus[response.status] ?? 0) + 1;
    const what = `${template.method} ${template.path()} ${String(body).slice(0, 200)}`;
    if (response.status >= 500) t.failures.push(`${response.status} for ${what}: ${JSON.stringify(response.body).slice(0, 200)}`);
    else if (response.status >= 400) {
      t.refused++;
      if (typeof response.body?.code !== 'string') t.failures.push(`${response.status} without the error shape for ${what}`);
      if ((await eventCount()) !== before) t.failures.push(`refused ${response.status} but es.events changed for ${what}`);
    } else t.accepted++;
  }
  console.log(`fuzz HTTP: ${JSON.stringify({ ...t, failures: t.failures.length })}`);
  expect(t.failures.slice(0, 10)).toEqual([]);
  expect(t.refused).toBeGreaterThan(HTTP_RUNS / 2);
  expect((await system.api('GET', `${FLAGS}/${target}`)).status).toBe(200);
});

it(`answers ${NATS_RUNS} mutated bus requests with a reply, never GENERIC.INTERNAL, and refused ones append nothing`, async () => {
  const t = tally();
  for (const m of fc.sample(mutation, { numRuns: NATS_RUNS, seed: SEED + 1 })) {
    const template = NATS_TEMPLATES[m.template % NATS_TEMPLATES.length]!;
    const before = await eventCount();
    const mutated = mutate(template.body(), m);
    const body = 'raw' in mutated ? mutated.raw : JSON.stringify(mutated.json);
    const what = `${template.subject} ${body.slice(0, 200)}`;
    t.sent++;
    let reply;
    try {
      reply = await bus.request(template.subject, body, 5_000);
    } catch (error) {
      t.failures.push(`no reply (${String(error)}) for ${what}`);
      continue;
    }
    const code = reply.ok ? 'ok' : reply.error.code;
    t.byStatus[code] = (t.byStatus[code] ?? 0) + 1;
    if (!reply.ok) {
      t.refused++;
      if (reply.error.code === 'GENERIC.INTERNAL') t.failures.push(`GENERIC.INTERNAL for ${what}`);
      if ((await eventCount()) !== before) t.failures.push(`refused ${reply.error.code} but es.events changed for ${what}`);
    } else t.accepted++;
  }
  console.log(`fuzz NATS: ${JSON.stringify({ ...t, failures: t.failures.length })}`);
  expect(t.failures.slice(0, 10)).toEqual([]);
  expect(t.refused).toBeGreaterThan(NATS_RUNS / 2);
  expect((await bus.request('rg.qry.flags.get', { key: target })).ok).toBe(true);
});
