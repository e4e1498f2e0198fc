import { jest } from '@jest/globals';
import { RollgateSystem, mapLimit, uniqueKey } from './harness/index.js';
import { change, createChangeableFlags, expectConverged, expectGatewayConverged, kindsFor, observedClients, type ObservedClient } from './harness/sdk.js';

// The e2e project's testTimeout in jest.config.js is not applied (Jest 30 reads it only globally).
jest.setTimeout(180_000);

/**
 * Issue 4's first acceptance: 100 SDK clients, each with its own NATS connection to the running system, while 8
 * concurrent writers make 1 000 changes to 20 flags through the HTTP API (percentages, toggles with If-Match,
 * user-list deltas, rules; 409s retried). Every client ends holding exactly the flags service's snapshot at the
 * same position, and emitted each flag's versions in order, none twice, up to the last. So does the gateway,
 * whose environment payload is its own local state (issue 11).
 */
let system: RollgateSystem;
let observed: ObservedClient[] = [];

const CLIENTS = 100;
const FLAG_COUNT = 20;
const WRITERS = 8;
const CHANGES = 1_000;

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
}, 120_000);

afterAll(async () => {
  await mapLimit(observed, 20, (o) => o.client.close());
  await system?.stop();
});

it(`${CLIENTS} clients converge on the service snapshot after ${CHANGES} concurrent changes, each flag's changes seen in order`, async () => {
  const keys = Array.from({ length: FLAG_COUNT }, (_, i) => uniqueKey(`conv${i}`));
  await createChangeableFlags(system, keys);
  observed = await observedClients(system, CLIENTS, keys);
  expect(observed.map((o) => o.client.flagCount)).toEqual(observed.map(() => FLAG_COUNT));

  const started = Date.now();
  const applied: Array<{ key: string; version: number }> = [];
  let conflicts = 0;
  const perWriter = CHANGES / WRITERS;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let i = 0; i < perWriter; i++) {
        const n = writer * perWriter + i;
        // Writers sweep the flags at different strides, so they keep meeting on the same flag.
        const flag = (writer * 3 + i * (writer + 1)) % FLAG_COUNT;
        const kinds = kindsFor(flag);
        const result = await change(system, keys[flag]!, kinds[(i + writer) % kinds.length]!, n);
        if (result.status !== 200) throw new Error(`change ${n} of ${keys[flag]}: ${result.status}`);
        conflicts += result.conflicts;
        applied.push({ key: keys[flag]!, version: result.version! });
      }
    }),
  );
  const writeMs = Date.now() - started;

  // Every change applied once: per flag, the versions handed out are exactly 2..n.
  expect(applied).toHaveLength(CHANGES);
  for (const key of keys) {
    const versions = applied.filter((a) => a.key === key).map((a) => a.version).sort((a, b) => a - b);
    expect(versions).toEqual(versions.map((_, i) => i + 2));
  }

  const { truth, waitedMs } = await expectConverged(system, observed, keys);
  expect(truth.flags.reduce((sum, flag) => sum + flag.version - 1, 0)).toBe(CHANGES);
  await expectGatewayConverged(system, truth);
  const resnapshots = observed.filter((o) => o.client.stats.snapshots > 1).length;
  const events = observed.reduce((sum, o) => sum + o.client.stats.eventsApplied, 0);
  // Figures for the report (not asserted).
  process.stdout.write(
    `[sdk-convergence] ${CHANGES} changes by ${WRITERS} writers in ${writeMs} ms (${conflicts} 409s retried); ` +
      `${CLIENTS} clients at position ${truth.position} ${waitedMs} ms after the last reply; ` +
      `${events} events applied in all, ${resnapshots} clients re-snapshotted\n`,
  );
});
