import { jest } from '@jest/globals';
import { flagStreamId } from '#rollgate/contracts';
import { waitFor } from '#rollgate/testing';
import { RollgateSystem, auditAll, auditCaughtUp, evaluateAll, uniqueKey, userIds, type ApiResponse } from './harness/index.js';

// The e2e project's testTimeout in jest.config.js is not applied (Jest 30 reads it only globally).
jest.setTimeout(90_000);

/**
 * The log is the state: read models rebuilt from zero answer exactly as the live ones did, and a flags service
 * killed with -9 in the middle of a stream of commands loses none that were acknowledged and applies none twice.
 * The default flags are seeded, so the replay covers the seed's own events too.
 */
let system: RollgateSystem;

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { gateway: { ROLLGATE_BUS_TIMEOUT_MS: '2000' } } });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

const FLAGS = '/api/v1/feature-flags';

async function ok(response: Promise<ApiResponse>, status = 200): Promise<ApiResponse> {
  const settled = await response;
  expect({ status: settled.status, body: settled.body }).toEqual({ status, body: settled.body });
  return settled;
}

/** Everything a user can read about flags, through the gateway. */
async function everythingReadable(keys: string[], segment: string): Promise<Record<string, unknown>> {
  const users = userIds(40, 'replay');
  const read: Record<string, unknown> = {
    list: (await system.api('GET', FLAGS)).body,
    archived: (await system.api('GET', `${FLAGS}?status=archived`)).body,
    production: (await system.api('GET', `${FLAGS}?environment=production`)).body,
    snapshot: (await system.api('GET', '/api/v1/environments/production/snapshot')).body,
    segment: (await system.api('GET', `/api/v1/segments/${segment}`)).body,
    audit: await auditAll(system),
  };
  for (const key of keys) {
    read[`flag:${key}`] = (await system.api('GET', `${FLAGS}/${key}`)).body;
    read[`history:${key}`] = (await system.api('GET', `${FLAGS}/${key}/history?limit=500`)).body;
    read[`evaluations:${key}`] = await evaluateAll(system, key, users);
  }
  return read;
}

it('rebuilds flag state and the audit trail from the log, identical to the live read models', async () => {
  const segment = uniqueKey('beta');
  const [a, b, c] = [uniqueKey('replay_a'), uniqueKey('replay_b'), uniqueKey('replay_c')];
  await ok(system.api('PUT', `/api/v1/segments/${segment}`, { name: 'Beta testers', conditions: [{ attribute: 'plan', operator: 'in', values: ['beta'] }] }));
  await ok(system.api('POST', FLAGS, { name: a, rollout_percentage: 10, target_environments: ['production'], user_ids: ['vip'] }), 201);
  await ok(system.api('PUT', `${FLAGS}/${a}`, { rollout_percentage: 35, description: 'wider' }, { 'x-rollgate-reason': 'more users' }));
  await ok(system.api('POST', FLAGS, { name: b, flag_type: 'user_list', user_ids: ['u1', 'u2'], target_environments: ['production', 'staging'] }), 201);
  await ok(system.api('PATCH', `${FLAGS}/${b}/environments/production/users`, { add: ['replay-3', 'replay-7'], remove: ['u1'] }));
  await ok(system.api('PUT', `${FLAGS}/${b}/environments/production/rules`, { rules: [{ id: 'beta', segments: [segment] }] }));
  await ok(system.api('PUT', `${FLAGS}/${b}/environments/staging`, { enabled: false }));
  await ok(
    system.api('POST', FLAGS, {
      name: c,
      flag_type: 'experiment',
      target_environments: ['production'],
      variants: [{ key: 'control', weight: 1 }, { key: 'treatment', weight: 1, payload: 'new' }],
    }),
    201,
  );
  await ok(system.api('DELETE', `${FLAGS}/${c}`), 204);
  await ok(system.api('POST', `${FLAGS}/${c}/restore`));
  await ok(system.api('POST', `${FLAGS}/${a}/revert`, { to_version: 1 }, { 'x-rollgate-reason': 'back to 10 %' }));
  await ok(system.api('PUT', `${FLAGS}/auto_submit_enabled`, { target_environments: ['production', 'staging'] }));
  await ok(system.api('DELETE', `${FLAGS}/smart_prompts_enabled`), 204);

  const keys = [a, b, c, 'auto_submit_enabled', 'smart_prompts_enabled', 'proof_packets_enabled'];
  const auditLive = await auditCaughtUp(system);
  expect(auditLive.length).toBeGreaterThan(15);
  const live = await everythingReadable(keys, segment);

  await system.kill('flags');
  // Lose the read models entirely, so what answers afterwards can only come from the replay.
  await system.sql('DELETE FROM flags.flag_state');
  await system.sql('DELETE FROM flags.segment_state');
  await system.sql('DELETE FROM flags.audit');
  await system.runTask('flags', ['rebuild']);
  const rows = await system.sql<{ n: number }>('SELECT count(*)::int AS n FROM flags.audit');
  expect(rows[0]!.n).toBe(auditLive.length);
  await system.restart('flags');

  const rebuilt = await everythingReadable(keys, segment);
  for (const part of Object.keys(live)) expect({ part, value: rebuilt[part] }).toEqual({ part, value: live[part] });
});

it('kill -9 in the middle of concurrent commands: every acknowledged command is in the log once, none twice; 503/504 while down', async () => {
  const key = uniqueKey('crash');
  await ok(system.api('POST', FLAGS, { name: key, flag_type: 'user_list', user_ids: [], target_environments: ['production'] }), 201);
  const attempts: Array<{ id: string; status: number; code?: string; phase: string }> = [];
  const sent: Array<{ id: string; user: string; status: number }> = [];
  let phase = 'up';
  let stop = false;
  const patch = (id: string, user: string): Promise<ApiResponse> =>
    system.api('PATCH', `${FLAGS}/${key}/environments/production/users`, { add: [user] }, { 'idempotency-key': id });
  // Five writers on one flag: a 409 (the service's few retries lost to the others) is retried with the same key.
  const writer = async (w: number): Promise<void> => {
    for (let n = 0; !stop; n++) {
      const user = `w${w}-${n}`;
      const id = `${key}-${user}`;
      let response: ApiResponse;
      do {
        response = await patch(id, user);
        attempts.push({ id, status: response.status, code: response.body?.code, phase });
      } while (response.status === 409);
      sent.push({ id, user, status: response.status });
      // While flags is down the gateway answers at once; pace the writers a little.
      if (response.status >= 500) await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const acknowledged = (): number => sent.filter((s) => s.status === 200).length;
  const writers = [0, 1, 2, 3, 4].map(writer);

  await waitFor('commands acknowledged before the crash', async () => acknowledged() >= 30, { timeoutMs: 20_000 });
  phase = 'killing';
  await system.kill('flags');
  phase = 'down';
  await waitFor('refusals while flags is down', async () => attempts.filter((a) => a.phase === 'down').length >= 10, { timeoutMs: 20_000 });
  const probe = await system.api('GET', `${FLAGS}/${key}`);
  expect({ status: probe.status, code: probe.body?.code }).toEqual({ status: 503, code: 'GENERIC.UNAVAILABLE' });
  phase = 'restarting';
  await system.restart('flags');
  phase = 'up-again';
  const before = acknowledged();
  await waitFor('commands acknowledged after the restart', async () => acknowledged() >= before + 30, { timeoutMs: 20_000 });
  stop = true;
  await Promise.all(writers);

  // A refusal is a 409 conflict while up, or 503/504 while flags is down or dying; never a 500.
  const refusals = attempts.filter((a) => a.status !== 200);
  expect(refusals.filter((a) => !(a.status === 409 && a.code === 'FLAGS.VERSION_CONFLICT') && !(a.status === 503 && a.code === 'GENERIC.UNAVAILABLE') && !(a.status === 504 && a.code === 'GENERIC.TIMEOUT'))).toEqual([]);
  expect(attempts.filter((a) => a.phase === 'down' && a.status !== 503 && a.status !== 504)).toEqual([]);
  const failures = sent.filter((s) => s.status !== 200);
  expect(failures.length).toBeGreaterThan(0);

  const logged = async (): Promise<Map<string, number>> => {
    const rows = await system.sql<{ id: string; n: number }>(
      `SELECT metadata->>'commandId' AS id, count(*)::int AS n FROM es.events WHERE stream_id = $1 AND stream_version > 1 GROUP BY 1`,
      [flagStreamId(key)],
    );
    return new Map(rows.map((row) => [row.id, row.n]));
  };
  const commands = async (): Promise<Set<string>> =>
    new Set((await system.sql<{ command_id: string }>('SELECT command_id FROM es.commands WHERE stream_id = $1', [flagStreamId(key)])).map((r) => r.command_id));

  const events = await logged();
  expect([...events.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  const inCommands = await commands();
  const acked = sent.filter((s) => s.status === 200);
  expect(acked.filter((s) => events.get(s.id) !== 1 || !inCommands.has(s.id))).toEqual([]);

  // A client that got 503/504 retries with the same Idempotency-Key: each lands exactly once.
  for (const failure of failures) {
    let retry: ApiResponse;
    do retry = await patch(failure.id, failure.user);
    while (retry.status === 409);
    expect({ id: failure.id, status: retry.status }).toEqual({ id: failure.id, status: 200 });
  }
  const after = await logged();
  expect([...after.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  expect(sent.filter((s) => after.get(s.id) !== 1).map((s) => s.id)).toEqual([]);
  expect(after.size).toBe(sent.length);

  const flag = await system.api('GET', `${FLAGS}/${key}`);
  expect([...flag.body.environments.production.default_rollout.users].sort()).toEqual(sent.map((s) => s.user).sort());
});
