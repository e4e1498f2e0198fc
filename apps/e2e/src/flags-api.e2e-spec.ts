import { jest } from '@jest/globals';
import { flagStreamId } from '#rollgate/contracts';
import { waitFor } from '#rollgate/testing';
import {
  BusClient,
  RollgateSystem,
  enabledUsers,
  evaluate,
  evaluateAll,
  eventCount,
  mapLimit,
  shareEnabled,
  uniqueKey,
  userIds,
  type Evaluation,
} from './harness/index.js';

// The e2e project's testTimeout in jest.config.js is not applied (Jest 30 reads it only globally).
jest.setTimeout(90_000);

/**
 * Issue 3's acceptance through the running gateway and flags service: the seed's own calls over HTTP and over
 * NATS, each flag type and rollout strategy created, evaluated, changed and evaluated again (read-your-writes),
 * as-of evaluation, and idempotent creates. Seeding is off so the seed's own flag names are free.
 */
let system: RollgateSystem;
let bus: BusClient;

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
  bus = await BusClient.connect(system.nats);
}, 120_000);

afterAll(async () => {
  await bus?.close();
  await system?.stop();
});

const FLAGS = '/api/v1/feature-flags';
const HOUR_MS = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

describe('the seed calls', () => {
  it('creates auto_submit_enabled over HTTP with the seed fields and serves about 10 % of production, stickily', async () => {
    const created = await system.api('POST', FLAGS, {
      name: 'auto_submit_enabled',
      description: 'Enable automatic dispute submission',
      flag_type: 'boolean',
      rollout_strategy: 'percentage',
      rollout_percentage: 10.0,
      target_environments: ['production'],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${FLAGS}/auto_submit_enabled`);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.body).toMatchObject({ key: 'auto_submit_enabled', version: 1, duplicate: false });
    const tenPercent = { type: 'percentage', ppm: 100_000 };
    expect(created.body.flag).toMatchObject({
      key: 'auto_submit_enabled',
      type: 'boolean',
      description: 'Enable automatic dispute submission',
      status: 'active',
      environments: {
        production: { enabled: true, default_rollout: tenPercent },
        staging: { enabled: false, default_rollout: tenPercent },
        development: { enabled: false, default_rollout: tenPercent },
      },
    });
    const read = await system.api('GET', `${FLAGS}/auto_submit_enabled`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ ...created.body.flag, version: 1 });

    const one = await evaluate(system, 'auto_submit_enabled', 'user123');
    expect(one).toMatchObject({ flag: 'auto_submit_enabled', reason: 'SPLIT', version: 1 });
    expect(one.enabled).toBe(one.value);

    const users = userIds(3_000);
    const first = await evaluateAll(system, 'auto_submit_enabled', users);
    expect(new Set(first.map((e) => e.reason))).toEqual(new Set(['SPLIT']));
    expect(shareEnabled(first)).toBeGreaterThan(0.08);
    expect(shareEnabled(first)).toBeLessThan(0.12);
    const again = await evaluateAll(system, 'auto_submit_enabled', users.slice(0, 600));
    expect(again.map((e) => e.enabled)).toEqual(first.slice(0, 600).map((e) => e.enabled));

    const staging = await evaluateAll(system, 'auto_submit_enabled', users.slice(0, 50), { environment: 'staging' });
    expect(staging.every((e) => e.enabled === false && e.reason === 'DISABLED')).toBe(true);
  });

  it('creates and evaluates over NATS with a raw CommandEnvelope, and agrees with HTTP', async () => {
    const envelope = {
      commandId: 'e2e-create-proof-packets',
      actor: 'e2e',
      reason: 'seed flag over the bus',
      payload: {
        flag: {
          key: 'proof_packets_enabled',
          name: 'Proof Packets Enabled',
          description: 'Enable automatic proof packet generation',
          type: 'boolean',
          environments: {
            production: { enabled: true, defaultRollout: { type: 'percentage', ppm: 100_000 } },
            staging: { enabled: false, defaultRollout: { type: 'percentage', ppm: 100_000 } },
          },
        },
      },
    };
    const reply = await bus.request('rg.cmd.flags.create', envelope);
    expect(reply).toMatchObject({ ok: true, result: { key: 'proof_packets_enabled', version: 1, duplicate: false } });
    const repeat = await bus.request('rg.cmd.flags.create', envelope);
    expect(repeat).toMatchObject({ ok: true, result: { key: 'proof_packets_enabled', version: 1, duplicate: true } });
    expect(await eventCount(system, flagStreamId('proof_packets_enabled'))).toBe(1);

    const users = userIds(2_000, 'bus-user');
    const overBus = await mapLimit(users, 32, async (userId) => {
      const answer = await bus.request<{ value: unknown; reason: string; flagVersion: number }>('rg.qry.flags.evaluate', {
        key: 'proof_packets_enabled',
        environment: 'production',
        context: { userId },
      });
      if (!answer.ok) throw new Error(JSON.stringify(answer));
      return answer.result;
    });
    expect(overBus.every((r) => typeof r.value === 'boolean' && r.flagVersion === 1 && r.reason === 'SPLIT')).toBe(true);
    const share = overBus.filter((r) => r.value === true).length / users.length;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);

    const overHttp = await evaluateAll(system, 'proof_packets_enabled', users.slice(0, 300));
    expect(overHttp.map((e) => e.value)).toEqual(overBus.slice(0, 300).map((r) => r.value));
  });
});

describe('each flag type and rollout strategy: create, evaluate, change, evaluate again', () => {
  const users = userIds(400, 'matrix');

  it('boolean / all_users: on for everyone where targeted, then toggled off, then retargeted', async () => {
    const key = uniqueKey('bool_all');
    const created = await system.api('POST', FLAGS, {
      name: key,
      flag_type: 'boolean',
      rollout_strategy: 'all_users',
      target_environments: ['production', 'staging'],
    });
    expect(created.status).toBe(201);
    const before = await evaluateAll(system, key, users.slice(0, 50));
    expect(before.every((e) => e.enabled && e.value === true && e.version === 1)).toBe(true);

    const off = await system.api('PUT', `${FLAGS}/${key}/environments/production`, { enabled: false });
    expect(off.status).toBe(200);
    const afterOff = await evaluateAll(system, key, users.slice(0, 50));
    expect(afterOff.every((e) => !e.enabled && e.reason === 'DISABLED' && e.version === 2)).toBe(true);
    expect((await evaluate(system, key, users[0]!, { environment: 'staging' })).enabled).toBe(true);

    const retarget = await system.api('PUT', `${FLAGS}/${key}`, { target_environments: ['production'] });
    expect(retarget.status).toBe(200);
    expect((await evaluate(system, key, users[0]!)).enabled).toBe(true);
    expect(await evaluate(system, key, users[0]!, { environment: 'staging' })).toMatchObject({ enabled: false, reason: 'DISABLED' });
  });

  it('percentage / percentage: the share follows rollout_percentage, raising it only adds users, user_ids always served', async () => {
    const key = uniqueKey('pct');
    const created = await system.api('POST', FLAGS, {
      name: key,
      flag_type: 'percentage',
      rollout_percentage: 25,
      target_environments: ['production'],
      user_ids: ['vip-1'],
    });
    expect(created.status).toBe(201);
    expect(created.body.flag.environments.production.default_rollout).toEqual({ type: 'percentage', ppm: 250_000 });
    expect(await evaluate(system, key, 'vip-1')).toMatchObject({ enabled: true, reason: 'TARGETING_MATCH', rule_id: 'target-users' });
    const at25 = await evaluateAll(system, key, users);
    expect(shareEnabled(at25)).toBeGreaterThan(0.18);
    expect(shareEnabled(at25)).toBeLessThan(0.32);

    const raised = await system.api('PUT', `${FLAGS}/${key}`, { rollout_percentage: 75 });
    expect(raised.status).toBe(200);
    expect(raised.body.environments.production.default_rollout).toEqual({ type: 'percentage', ppm: 750_000 });
    const at75 = await evaluateAll(system, key, users);
    expect(at75.every((e) => e.version === 2)).toBe(true);
    expect(shareEnabled(at75)).toBeGreaterThan(0.68);
    expect(shareEnabled(at75)).toBeLessThan(0.82);
    const in25 = enabledUsers(users, at25);
    const in75 = enabledUsers(users, at75);
    expect([...in25].filter((user) => !in75.has(user))).toEqual([]);

    const zero = await system.api('PUT', `${FLAGS}/${key}/environments/production/rollout`, { rollout_percentage: 0 });
    expect(zero.status).toBe(200);
    expect(shareEnabled(await evaluateAll(system, key, users))).toBe(0);
    expect((await evaluate(system, key, 'vip-1')).enabled).toBe(true);
  });

  it('user_list / user_list: only the listed users, then users added and removed by PATCH deltas', async () => {
    const key = uniqueKey('users');
    const created = await system.api('POST', FLAGS, {
      name: key,
      flag_type: 'user_list',
      user_ids: ['alice', 'bob'],
      target_environments: ['production'],
    });
    expect(created.status).toBe(201);
    const who = async (): Promise<Record<string, boolean>> => {
      const names = ['alice', 'bob', 'carol', 'dave'];
      const answers = await Promise.all(names.map((name) => evaluate(system, key, name)));
      return Object.fromEntries(names.map((name, i) => [name, answers[i]!.enabled]));
    };
    expect(await who()).toEqual({ alice: true, bob: true, carol: false, dave: false });
    expect(await evaluate(system, key, 'alice')).toMatchObject({ reason: 'TARGETING_MATCH', version: 1 });

    const patched = await system.api('PATCH', `${FLAGS}/${key}/environments/production/users`, { add: ['carol', 'dave'], remove: ['alice'] });
    expect(patched.status).toBe(200);
    expect(patched.body.version).toBe(2);
    expect(await who()).toEqual({ alice: false, bob: true, carol: true, dave: true });

    const again = await system.api('PATCH', `${FLAGS}/${key}/environments/production/users`, { remove: ['dave'] });
    expect(again.status).toBe(200);
    expect(await who()).toEqual({ alice: false, bob: true, carol: true, dave: false });
  });

  it('environment / environment: on only in the targeted environments, and the targets follow a PUT', async () => {
    const key = uniqueKey('envs');
    const created = await system.api('POST', FLAGS, { name: key, flag_type: 'environment', target_environments: ['staging'] });
    expect(created.status).toBe(201);
    const where = async (): Promise<Record<string, boolean>> => {
      const environments = ['development', 'staging', 'production'];
      const answers = await Promise.all(environments.map((environment) => evaluate(system, key, 'someone', { environment })));
      return Object.fromEntries(environments.map((environment, i) => [environment, answers[i]!.enabled]));
    };
    expect(await where()).toEqual({ development: false, staging: true, production: false });

    // The seed's change: target production instead of staging, nothing else.
    const moved = await system.api('PUT', `${FLAGS}/${key}`, { target_environments: ['production'] });
    expect(moved.status).toBe(200);
    expect(await where()).toEqual({ development: false, staging: false, production: true });

    const both = await system.api('PUT', `${FLAGS}/${key}`, { rollout_strategy: 'environment', target_environments: ['production', 'development'] });
    expect(both.status).toBe(200);
    expect(await where()).toEqual({ development: true, staging: false, production: true });
  });

  it('experiment / all_users: a weighted variant split with payloads, then the weights change, then it is switched off', async () => {
    const key = uniqueKey('exp');
    const created = await system.api('POST', FLAGS, {
      name: key,
      flag_type: 'experiment',
      rollout_strategy: 'all_users',
      target_environments: ['production'],
      variants: [
        { key: 'control', weight: 50, payload: { color: 'grey' } },
        { key: 'treatment', weight: 50, payload: { color: 'blue' } },
      ],
    });
    expect(created.status).toBe(201);
    const split = await evaluateAll(system, key, users);
    const payloadOf: Record<string, unknown> = { control: { color: 'grey' }, treatment: { color: 'blue' } };
    expect(split.every((e) => e.reason === 'SPLIT' && e.value !== null && e.variant !== null)).toBe(true);
    expect(split.every((e) => JSON.stringify(e.value) === JSON.stringify(payloadOf[e.variant!]))).toBe(true);
    const treated = split.filter((e) => e.variant === 'treatment').length / users.length;
    expect(treated).toBeGreaterThan(0.4);
    expect(treated).toBeLessThan(0.6);
    const again = await evaluateAll(system, key, users.slice(0, 100));
    expect(again.map((e) => e.variant)).toEqual(split.slice(0, 100).map((e) => e.variant));

    const reweighted = await system.api('PUT', `${FLAGS}/${key}`, {
      variants: [
        { key: 'control', weight: 0, payload: { color: 'grey' } },
        { key: 'treatment', weight: 100, payload: { color: 'blue' } },
      ],
    });
    expect(reweighted.status).toBe(200);
    const allTreated = await evaluateAll(system, key, users.slice(0, 100));
    expect(allTreated.every((e) => e.variant === 'treatment' && e.version === 2)).toBe(true);

    const off = await system.api('PUT', `${FLAGS}/${key}/environments/production`, { enabled: false });
    expect(off.status).toBe(200);
    const disabled = await evaluateAll(system, key, users.slice(0, 20));
    expect(disabled.every((e) => !e.enabled && e.reason === 'DISABLED')).toBe(true);
  });

  it('boolean / gradual: half way through its window about half are on; moving the window moves the share', async () => {
    const key = uniqueKey('ramp');
    const now = Date.now();
    const created = await system.api('POST', FLAGS, {
      name: key,
      rollout_strategy: 'gradual',
      rollout_percentage: 100,
      gradual_start: iso(now - HOUR_MS),
      gradual_duration_hours: 2,
      target_environments: ['production'],
    });
    expect(created.status).toBe(201);
    expect(created.body.flag.environments.production.default_rollout).toMatchObject({ type: 'gradual', from: 0, to: 1_000_000 });
    const half = await evaluateAll(system, key, users);
    expect(shareEnabled(half)).toBeGreaterThan(0.4);
    expect(shareEnabled(half)).toBeLessThan(0.6);

    // The window moved into the past: the ramp is over, everyone is on.
    const done = await system.api('PUT', `${FLAGS}/${key}`, {
      rollout_strategy: 'gradual',
      rollout_percentage: 100,
      gradual_start: iso(now - 3 * HOUR_MS),
      gradual_duration_hours: 1,
    });
    expect(done.status).toBe(200);
    expect(shareEnabled(await evaluateAll(system, key, users))).toBe(1);

    // Into the future: not started, nobody is on.
    const later = await system.api('PUT', `${FLAGS}/${key}/environments/production/rollout`, {
      rollout_strategy: 'gradual',
      gradual_start: iso(now + HOUR_MS),
      gradual_duration_hours: 1,
    });
    expect(later.status).toBe(200);
    expect(shareEnabled(await evaluateAll(system, key, users))).toBe(0);
  });
});

describe('as-of evaluation', () => {
  it('returns what was served at each past time across several changes', async () => {
    const key = uniqueKey('asof');
    const users = userIds(200, 'asof');
    const beforeCreation = new Date().toISOString();
    const served: Array<{ at: string; answers: Evaluation[] }> = [];
    const record = async (): Promise<void> => {
      const answers = await evaluateAll(system, key, users);
      served.push({ at: new Date().toISOString(), answers });
    };
    expect((await system.api('POST', FLAGS, { name: key, rollout_percentage: 10, target_environments: ['production'] })).status).toBe(201);
    await record();
    expect((await system.api('PUT', `${FLAGS}/${key}`, { rollout_percentage: 60 })).status).toBe(200);
    await record();
    expect((await system.api('PUT', `${FLAGS}/${key}/environments/production`, { enabled: false })).status).toBe(200);
    await record();
    expect((await system.api('PUT', `${FLAGS}/${key}/environments/production`, { enabled: true })).status).toBe(200);
    expect((await system.api('PUT', `${FLAGS}/${key}/environments/production/rollout`, { rollout_strategy: 'user_list', user_ids: [users[0], users[1]] })).status).toBe(200);
    await record();
    expect(new Set(served.map((s) => shareEnabled(s.answers))).size).toBeGreaterThan(2);

    for (const { at, answers } of served) {
      const then = await evaluateAll(system, key, users, { asOf: at });
      expect(then.map(({ enabled, value, version, reason }) => ({ at, enabled, value, version, reason }))).toEqual(
        answers.map(({ enabled, value, version, reason }) => ({ at, enabled, value, version, reason })),
      );
      const flag = await system.api('GET', `${FLAGS}/${key}?as_of=${encodeURIComponent(at)}`);
      expect(flag.body.version).toBe(answers[0]!.version);
    }
    expect(await evaluate(system, key, users[0]!, { asOf: beforeCreation })).toMatchObject({ reason: 'ERROR', error_code: 'FLAG_NOT_FOUND' });
  });

  it('evaluates a gradual ramp with the clock of the past time', async () => {
    const key = uniqueKey('asof_ramp');
    const users = userIds(400, 'ramp');
    const start = Date.now();
    const rampMs = 3_600;
    const created = await system.api('POST', FLAGS, {
      name: key,
      rollout_strategy: 'gradual',
      rollout_percentage: 100,
      gradual_start: iso(start),
      gradual_duration_hours: rampMs / HOUR_MS,
      target_environments: ['production'],
    });
    expect(created.status).toBe(201);
    const early = Date.now();
    // The ramp is continuous: the last units join only at its very end, so wait for the end, then for everyone.
    await waitFor(`the ramp of ${key} to end`, async () => Date.now() > start + rampMs, { timeoutMs: rampMs * 3 });
    await waitFor(`every unit in ${key}`, async () => shareEnabled(await evaluateAll(system, key, users)) === 1);

    const middle = start + rampMs / 2;
    const atEarly = await evaluateAll(system, key, users, { asOf: iso(early) });
    const atMiddle = await evaluateAll(system, key, users, { asOf: iso(middle) });
    expect(Math.abs(shareEnabled(atEarly) - (early - start) / rampMs)).toBeLessThan(0.1);
    expect(Math.abs(shareEnabled(atMiddle) - 0.5)).toBeLessThan(0.1);
    expect(shareEnabled(atEarly)).toBeLessThan(1);
    const inEarly = enabledUsers(users, atEarly);
    const inMiddle = enabledUsers(users, atMiddle);
    expect([...inEarly].filter((user) => !inMiddle.has(user))).toEqual([]);
  });
});

describe('idempotency over HTTP', () => {
  it('the same POST twice with one Idempotency-Key appends one event and answers the same', async () => {
    const key = uniqueKey('idem');
    const body = { name: key, flag_type: 'user_list', user_ids: ['dana'], target_environments: ['production'] };
    const headers = { 'idempotency-key': `e2e-${key}` };
    const first = await system.api('POST', FLAGS, body, headers);
    const second = await system.api('POST', FLAGS, body, headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(first.status);
    expect(first.body.duplicate).toBe(false);
    expect(second.body).toEqual({ ...first.body, duplicate: true });
    expect(await eventCount(system, flagStreamId(key))).toBe(1);
    const commands = await system.sql('SELECT command_id FROM es.commands WHERE stream_id = $1', [flagStreamId(key)]);
    expect(commands).toEqual([{ command_id: `e2e-${key}` }]);

    const patch = { add: ['erin'] };
    const patchHeaders = { 'idempotency-key': `e2e-${key}-users` };
    const p1 = await system.api('PATCH', `${FLAGS}/${key}/environments/production/users`, patch, patchHeaders);
    const p2 = await system.api('PATCH', `${FLAGS}/${key}/environments/production/users`, patch, patchHeaders);
    expect([p1.status, p2.status]).toEqual([200, 200]);
    expect(p2.body).toEqual({ ...p1.body, duplicate: true });
    expect(await eventCount(system, flagStreamId(key))).toBe(2);
  });

  it('binds an Idempotency-Key to its request: a DELETE with a toggle\'s key is a 422 that changes nothing', async () => {
    const key = uniqueKey('idem_bound');
    expect((await system.api('POST', FLAGS, { name: key })).status).toBe(201);
    const headers = { 'idempotency-key': `e2e-bound-${key}` };
    const toggle = await system.api('PUT', `${FLAGS}/${key}/environments/production`, { enabled: true }, headers);
    expect(toggle.status).toBe(200);
    expect(toggle.body.duplicate).toBe(false);
    const events = await system.sql('SELECT global_position::text AS p, event_type FROM es.events ORDER BY global_position');

    const reused = await system.api('DELETE', `${FLAGS}/${key}`, undefined, headers);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('FLAGS.IDEMPOTENCY_KEY_REUSED');
    const other = await system.api('PUT', `${FLAGS}/${key}/environments/production`, { enabled: false }, headers);
    expect([other.status, other.body.code]).toEqual([422, 'FLAGS.IDEMPOTENCY_KEY_REUSED']);
    expect(await system.sql('SELECT global_position::text AS p, event_type FROM es.events ORDER BY global_position')).toEqual(events);
    const flagNow = await system.api('GET', `${FLAGS}/${key}`);
    expect(flagNow.status).toBe(200);
    expect(flagNow.body.archived).toBe(false);

    // The same toggle again with the key is a retry: the first result, nothing appended.
    const again = await system.api('PUT', `${FLAGS}/${key}/environments/production`, { enabled: true }, headers);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...toggle.body, duplicate: true });
    expect(await system.sql('SELECT global_position::text AS p, event_type FROM es.events ORDER BY global_position')).toEqual(events);
    const recorded = await system.sql<{ request_hash: string | null }>('SELECT request_hash FROM es.commands WHERE command_id = $1', [
      `e2e-bound-${key}`,
    ]);
    expect(recorded).toEqual([{ request_hash: expect.stringMatching(/^http-sha256:[0-9a-f]{64}$/) }]);
  });

  it('refuses one Idempotency-Key reused for another flag, appending nothing', async () => {
    const key = uniqueKey('idem_a');
    const headers = { 'idempotency-key': `e2e-shared-${key}` };
    expect((await system.api('POST', FLAGS, { name: key }, headers)).status).toBe(201);
    const before = await eventCount(system);
    const other = await system.api('POST', FLAGS, { name: uniqueKey('idem_b') }, headers);
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('FLAGS.COMMAND_ID_CONFLICT');
    expect(await eventCount(system)).toBe(before);
  });
});
