import { jest } from '@jest/globals';
import { eventStreamName } from '#rollgate/contracts';
import { waitFor } from '#rollgate/testing';
import { RollgateSystem, streamMessages, uniqueKey } from './harness/index.js';

jest.setTimeout(120_000);

/**
 * A pod's stop (deploy/base: preStop, then SIGTERM), under load. SIGTERM to the flags replica that leads the
 * publisher: it exits 0, no request fails (the commands it held are answered, new ones go to the other replica of
 * the queue group), the other replica takes the publisher lease, and the stream still holds every event of the log
 * once and in order. SIGTERM to a gateway replica: it exits 0 at once although clients keep connections alive,
 * every request it accepted is answered (none 5xx), and the client's next request goes to the other replica.
 */
const FLAGS = '/api/v1/feature-flags';
const FLAG_COUNT = 10;
const PER_FLAG = 60;
const STOP_AT = 200;
let system: RollgateSystem;

beforeAll(async () => {
  system = await RollgateSystem.start({
    services: ['flags', 'gateway'],
    replicas: { flags: 2, gateway: 2 },
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

it('stops a gateway replica on SIGTERM: it exits 0, requests in flight are answered, none 5xx, each change applied once', async () => {
  const WORKERS = 8;
  const PER_WORKER = 40;
  const keys = Array.from({ length: WORKERS }, (_, w) => uniqueKey(`gwdrain${w}`));
  for (const key of keys) expect((await system.api('POST', FLAGS, { name: key, rollout_percentage: 50, target_environments: ['production'] })).status).toBe(201);
  const serverErrors: string[] = [];
  let refused = 0;
  let answeredByStopping = 0;
  let stopping = false;
  let gone = false;
  let stopped: Promise<number | null> | undefined;
  const put = (replica: number, key: string, i: number): Promise<Response> =>
    fetch(`${system.replicaUrl('gateway', replica)}${FLAGS}/${key}/environments/production/rollout`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${system.adminToken}`, 'content-type': 'application/json', 'idempotency-key': `${key}-${i}` },
      body: JSON.stringify({ rollout_percentage: (i % 99) + 1 }),
    });
  await Promise.all(
    keys.map(async (key, w) => {
      for (let i = 0; i < PER_WORKER; i++) {
        // Replica 1 until it refuses (a client whose load balancer has not noticed yet), then replica 0.
        for (;;) {
          const replica = gone ? 0 : 1;
          try {
            const response = await put(replica, key, i);
            if (response.status >= 500) serverErrors.push(`${key} #${i} on replica ${replica}: ${response.status} ${await response.text()}`);
            else expect(response.status).toBe(200);
            if (replica === 1 && stopping) answeredByStopping++;
            break;
          } catch {
            refused++; // no longer listening, or a keep-alive connection it closed: the same key to the other replica
            gone = true;
          }
        }
        if (w === 0 && i === 10) {
          stopping = true;
          stopped = system.stopReplica('gateway', 1);
        }
      }
    }),
  );
  expect(serverErrors).toEqual([]);
  expect(await stopped).toBe(0);
  expect(refused).toBeGreaterThan(0);
  for (const key of keys) expect((await system.api('GET', `${FLAGS}/${key}`)).body.version).toBe(1 + PER_WORKER);
  process.stdout.write(`gateway drain: ${answeredByStopping} request(s) answered by the stopping replica, ${refused} refused and sent to the other\n`);
});
