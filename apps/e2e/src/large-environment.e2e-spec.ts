import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { RollgateClient } from '#rollgate/sdk';
import { waitFor } from '#rollgate/testing';
import { BusClient, RollgateSystem, eventCount, mapLimit, userIds } from './harness/index.js';
import { clientState, serviceSnapshot } from './harness/sdk.js';

jest.setTimeout(180_000);

/**
 * Issue 8 item 4, end to end on the real processes and the real bus (NATS's default 1 MiB max_payload):
 * - an environment of 10 000 flags plus a 100 000-id member list loads into an SDK over NATS (in pages), and the
 *   SDK evaluates a member and a non-member as the service does;
 * - the issue's 31 000-id user-list create over HTTP gets 201, evaluates, and a later toggle of another flag still
 *   reaches the connected SDK at once (propagation never stalls on it);
 * - commands that cannot fit are refused with a 413 and append nothing.
 */
let system: RollgateSystem;
let bus: BusClient;
let client: RollgateClient | undefined;

const FLAGS = 10_000;
const LIST = 100_000;
const ENV = 'production';
const flagKey = (i: number) => `bulk_${String(i).padStart(5, '0')}`;
const figures: string[] = [];
const note = (line: string) => figures.push(line);

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
  bus = await BusClient.connect(system.nats);
}, 120_000);

afterAll(async () => {
  await client?.close();
  await bus?.close();
  await system?.stop();
  process.stdout.write(`[large-environment]\n  ${figures.join('\n  ')}\n`);
});

const command = async (verb: string, payload: unknown): Promise<void> => {
  const reply = await bus.request(`rg.cmd.flags.${verb}`, { commandId: randomUUID(), actor: 'e2e-seeder', payload }, 30_000);
  if (!reply.ok) throw new Error(`${verb}: ${JSON.stringify(reply.error)}`);
};

it(`an SDK loads ${FLAGS} flags and a ${LIST}-id list over NATS; a 31 000-id create over HTTP does not stall propagation; oversized commands are 413s`, async () => {
  // 1. The environment, through the command core over the bus: 10 000 flags in parallel, and a member list of
  //    100 000 ids in four commands (each below one bus message; stored as 1 000-id chunk events).
  let started = Date.now();
  await mapLimit(Array.from({ length: FLAGS }, (_, i) => i), 32, (i) =>
    command('create', {
      flag: { key: flagKey(i), name: `Bulk ${i}`, type: 'boolean', environments: { [ENV]: { enabled: i % 2 === 0, defaultRollout: { type: 'all_users' } } } },
    }),
  );
  note(`created ${FLAGS} flags over the bus (32 in flight) in ${Date.now() - started} ms`);
  started = Date.now();
  const members = userIds(LIST, 'member');
  const list = { key: 'big-list', name: 'Big list', conditions: [], memberAttribute: 'userId' };
  await command('define-segment', { segment: { ...list, members: members.slice(0, 25_000) } });
  for (let from = 25_000; from < LIST; from += 25_000) await command('change-segment-members', { key: 'big-list', add: members.slice(from, from + 25_000), remove: [] });
  await command('create', {
    flag: { key: 'listed', name: 'Listed', type: 'user_list', environments: { [ENV]: { enabled: true, rules: [{ id: 'target-users', segments: ['big-list'] }], defaultRollout: { type: 'none' } } } },
  });
  note(`stored the ${LIST}-id list in ${Date.now() - started} ms`);

  // 2. A fresh SDK over the real NATS loads it all (in pages below max_payload).
  started = Date.now();
  client = await RollgateClient.connect({
    environment: ENV,
    ...system.nats.client('sdk'),
    clientId: 'large-env',
    readyTimeoutMs: 60_000,
    requestTimeoutMs: 10_000,
    statusIntervalMs: 0,
    outcomes: { enabled: false },
    logger: { warn: () => undefined },
  });
  const loadMs = Date.now() - started;
  const sdk = client;
  expect(sdk.flagCount).toBe(FLAGS + 1);
  expect(sdk.stats.snapshots).toBe(1);
  expect(sdk.stats.snapshotPages).toBeGreaterThan(1);
  note(`SDK ready in ${loadMs} ms: ${sdk.flagCount} flags and ${LIST} list members in ${sdk.stats.snapshotPages} snapshot pages`);
  expect(sdk.isEnabled('listed', { userId: 'member-99999' })).toBe(true);
  expect(sdk.evaluate('listed', { userId: 'member-0' }, false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH', ruleId: 'target-users' });
  expect(sdk.isEnabled('listed', { userId: 'member-100000' })).toBe(false);
  expect(sdk.isEnabled(flagKey(0), { userId: 'x' })).toBe(true);
  expect(sdk.isEnabled(flagKey(1), { userId: 'x' })).toBe(false);
  // The service answers the same.
  const served = await system.api('POST', '/api/v1/feature-flags/listed/evaluate', { user_id: 'member-54321', environment: ENV });
  expect(served.body).toMatchObject({ enabled: true, reason: 'TARGETING_MATCH' });

  // 3. The issue's create: a user_list flag of 31 000 ids over HTTP, targeted at production.
  const before = await eventCount(system);
  const users = userIds(31_000, 'customer');
  started = Date.now();
  const created = await system.api('POST', '/api/v1/feature-flags', { name: 'big_user_list', flag_type: 'user_list', user_ids: users, target_environments: [ENV] });
  note(`POST /feature-flags with 31 000 user ids: ${created.status} in ${Date.now() - started} ms`);
  expect(created.status).toBe(201);
  expect(JSON.stringify(created.body).length).toBeLessThan(10_000);
  const sizes = await system.sql<{ type: string; n: string; biggest: number }>(
    `SELECT event_type AS type, count(*)::text AS n, max(octet_length(data::text) + octet_length(metadata::text)) AS biggest
       FROM es.events WHERE stream_id IN ('flag-big_user_list', 'segment-big_user_list-users')
      GROUP BY event_type ORDER BY event_type`,
  );
  note(`its events: ${sizes.map((s) => `${s.n} × ${s.type} (≤ ${s.biggest} B)`).join(', ')}; before: one FlagCreated of 1.14 MB`);
  expect(Math.max(...sizes.map((s) => s.biggest))).toBeLessThan(100_000);
  // FlagCreated, SegmentDefined and 31-32 chunks (the ids went in two commands, each chunked by 1 000).
  expect((await eventCount(system)) - before).toBeGreaterThanOrEqual(33);
  expect((await eventCount(system)) - before).toBeLessThanOrEqual(34);
  await waitFor('the SDK holds the 31 000-id flag and its list', async () => sdk.isEnabled('big_user_list', { userId: 'customer-30999' }), { timeoutMs: 15_000 });
  expect(sdk.isEnabled('big_user_list', { userId: 'customer-0' })).toBe(true);
  expect(sdk.isEnabled('big_user_list', { userId: 'customer-31000' })).toBe(false);
  const viaHttp = await system.api('GET', `/api/v1/feature-flags/big_user_list/evaluate?user_id=customer-17&environment=${ENV}`);
  expect(viaHttp.body).toMatchObject({ enabled: true });

  // 4. Propagation is not stalled: a later toggle of another flag reaches the connected SDK at once.
  const toggledAt = Date.now();
  const toggle = await system.api('PUT', `/api/v1/feature-flags/${flagKey(1)}/environments/${ENV}`, { enabled: true });
  expect(toggle.status).toBe(200);
  await waitFor('the toggle in the SDK', async () => sdk.isEnabled(flagKey(1), { userId: 'x' }), { timeoutMs: 5_000, intervalMs: 2 });
  const propagationMs = Date.now() - toggledAt;
  note(`a later toggle reached the SDK ${propagationMs} ms after the request was sent`);
  expect(propagationMs).toBeLessThan(2_000);

  // 5. What cannot fit is refused with a 413 before anything is appended.
  const unchanged = await eventCount(system);
  const hugeRules = await system.api('POST', '/api/v1/feature-flags', {
    flag: { key: 'huge_rules', name: 'huge', type: 'boolean', environments: { [ENV]: { enabled: true, default_rollout: { type: 'all_users' }, rules: [{ id: 'r', conditions: [{ attribute: 'country', operator: 'in', values: userIds(30_000, 'a-long-enough-country-name') }] }] } } },
  });
  expect(hugeRules.status).toBe(413);
  expect(hugeRules.body).toMatchObject({ code: 'FLAGS.DEFINITION_TOO_LARGE', details: { key: 'huge_rules' } });
  const overTheBus = await system.api('POST', '/api/v1/feature-flags', {
    flag: { key: 'over_the_bus', name: 'inline', type: 'user_list', environments: { [ENV]: { enabled: true, default_rollout: { type: 'user_list', users: userIds(60_000, 'an-inline-user-id-of-some-length') } } } },
  });
  expect(overTheBus.status).toBe(413);
  expect(overTheBus.body).toMatchObject({ code: 'GENERIC.PAYLOAD_TOO_LARGE' });
  expect(await eventCount(system)).toBe(unchanged);
  note(`oversized creates: ${hugeRules.status} ${hugeRules.body.code}, ${overTheBus.status} ${overTheBus.body.code}; es.events unchanged`);

  // 6. The list route reads its 10 000 flags in pages too (one reply could not hold them).
  started = Date.now();
  const listed = await system.api('GET', '/api/v1/feature-flags');
  expect(listed.status).toBe(200);
  expect(listed.body.count).toBe(FLAGS + 2);
  note(`GET /feature-flags (${listed.body.count} flags) in ${Date.now() - started} ms`);

  // 7. The SDK ends equal to the service's snapshot (read by the gateway in pages, too).
  started = Date.now();
  const truth = await serviceSnapshot(system);
  note(`HTTP snapshot (${truth.flags.length} flags) in ${Date.now() - started} ms`);
  await waitFor('the SDK at the snapshot position', async () => sdk.snapshot().position === truth.position, { timeoutMs: 10_000 });
  const mine = clientState(sdk);
  expect(mine.flags).toEqual([...truth.flags].sort((a, b) => a.key.localeCompare(b.key)));
  expect(mine.segments).toEqual([...truth.segments].sort((a, b) => a.key.localeCompare(b.key)));
});
