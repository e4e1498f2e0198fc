import { jest } from '@jest/globals';
import { flagStreamId } from '#rollgate/contracts';
import { RollgateSystem, eventCount, expectError, uniqueKey } from './harness/index.js';

// The e2e project's testTimeout in jest.config.js is not applied (Jest 30 reads it only globally).
jest.setTimeout(90_000);

/**
 * PUT /feature-flags/{key} is one command: every part is decided against the same state and appended as one
 * batch (one transaction, consecutive versions), or nothing is appended at all.
 */
let system: RollgateSystem;
const FLAGS = '/api/v1/feature-flags';

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

const createFlag = async (): Promise<string> => {
  const key = uniqueKey('atomic');
  const created = await system.api('POST', FLAGS, { name: key, rollout_percentage: 10, target_environments: ['production'] });
  expect(created.status).toBe(201);
  return key;
};

it('refuses a PUT whose rollout part is invalid as a whole: 400 and nothing appended', async () => {
  const key = await createFlag();
  const before = await eventCount(system);
  const missingPercentage = await system.api('PUT', `${FLAGS}/${key}`, {
    description: 'wider',
    rollout_strategy: 'percentage',
    target_environments: ['production', 'staging'],
  });
  expectError(missingPercentage, 400, 'GENERIC.VALIDATION', 'rollout_percentage');
  // Only the resulting flag shows this one: variants on a boolean flag, sent with a valid rollout and targets.
  const modelInvalid = await system.api('PUT', `${FLAGS}/${key}`, {
    description: 'wider',
    rollout_percentage: 50,
    target_environments: ['production', 'staging'],
    variants: [{ key: 'a', weight: 1 }],
  });
  expectError(modelInvalid, 400, 'GENERIC.VALIDATION', 'variants');
  expect(await eventCount(system)).toBe(before);
  expect((await system.api('GET', `${FLAGS}/${key}`)).body).toMatchObject({ version: 1 });
});

it('applies a valid PUT as one batch: one transaction, consecutive versions', async () => {
  const key = await createFlag();
  const put = await system.api('PUT', `${FLAGS}/${key}`, {
    description: 'wider',
    rollout_percentage: 25,
    target_environments: ['production', 'staging'],
  });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ description: 'wider', environments: { staging: { enabled: true, default_rollout: { ppm: 250_000 } } } });
  const rows = await system.sql<{ version: number; type: string; transaction_id: string }>(
    'SELECT stream_version::int AS version, event_type AS type, transaction_id::text AS transaction_id FROM es.events WHERE stream_id = $1 AND stream_version > 1 ORDER BY stream_version',
    [flagStreamId(key)],
  );
  expect(rows.map((r) => r.type)).toEqual(['FlagDetailsChanged', 'RolloutChanged', 'RolloutChanged', 'FlagToggled']);
  expect(rows.map((r) => r.version)).toEqual([2, 3, 4, 5]);
  expect(new Set(rows.map((r) => r.transaction_id)).size).toBe(1);
  expect(put.body).toMatchObject({ version: 5 });
});
