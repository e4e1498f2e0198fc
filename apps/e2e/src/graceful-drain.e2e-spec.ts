import { jest } from '@jest/globals';
import { eventStreamName } from '#rollgate/contracts';
import { waitFor } from '#rollgate/testing';
import { RollgateSystem, streamMessages, uniqueKey } from './harness/index.js';

jest.setTimeout(120_000);

/**
 * A pod's stop (deploy/base: preStop, then SIGTERM): SIGTERM to the flags replica that leads the publisher while
 * changes keep coming through the gateway. It exits 0, no request fails (the commands it held are answered, new
 * ones go to the other replica of the queue group), the other replica takes the publisher lease, and the stream
 * still holds every event of the log once and in order.
 */
const FLAGS = '/api/v1/feature-flags';
const FLAG_COUNT = 10;
const PER_FLAG = 60;
const STOP_AT = 200;
let system: RollgateSystem;

beforeAll(async () => {
  system = await RollgateSystem.start({
    services: ['flags', 'gateway'],
    replicas: { flags: 2 },
    parallel: true,
    env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } },
  });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

async function leaders(): Promise<number[]> {
  const leading: number[] = [];
  for (const replica of [0, 1]) {
    if (!system.replicaRunning('flags', replica)) continue;
    const text = await (await fetch(`${system.replicaUrl('flags', replica)}/metrics`)).text();
    if (/^rollgate_publisher_leader_active\{[^}]*\} 1$/m.test(text)) leading.push(replica);
  }
  return leading;
}

it('stops the leading flags replica on SIGTERM without failing a request or losing an event', async () => {
  const keys = Array.from({ length: FLAG_COUNT }, (_, i) => uniqueKey(`drain${i}`));
  for (const key of keys) expect((await system.api('POST', FLAGS, { name: key, rollout_percentage: 50, target_environments: ['production'] })).status).toBe(201);
  const [leader] = await waitFor('one publisher leader', async () => ((await leaders()).length === 1 ? leaders() : undefined));
  const failures: string[] = [];
  let done = 0;
  let stopped: Promise<number | null> | undefined;
  await Promise.all(
    keys.map(async (key) => {
      for (let i = 0; i < PER_FLAG; i++) {
        const response = await system.api('PUT', `${FLAGS}/${key}/environments/production/rollout`, { rollout_percentage: (i % 99) + 1 });
        if (response.status !== 200) failures.push(`${key} #${i}: ${response.status} ${JSON.stringify(response.body)}`);
        if (++done === STOP_AT) stopped = system.stopReplica('flags', leader!);
      }
    }),
  );
  expect(failures).toEqual([]);
  expect(await stopped).toBe(0);
  expect(await waitFor('the other replica leading', async () => ((await leaders()).length === 1 ? leaders() : undefined))).toEqual([1 - leader!]);

  const log = await system.sql<{ event_id: string }>('SELECT event_id::text FROM es.events ORDER BY transaction_id, global_position');
  expect(log).toHaveLength(FLAG_COUNT * (1 + PER_FLAG));
  const published = await streamMessages(system.nats, eventStreamName('flags'), log.length);
  expect(published.map((m) => m.eventId)).toEqual(log.map((e) => e.event_id));
});
