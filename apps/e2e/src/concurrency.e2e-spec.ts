import { jest } from '@jest/globals';
import { RollgateSystem, historyUpTo, uniqueKey } from './harness/index.js';

// The e2e project's testTimeout in jest.config.js is not applied (Jest 30 reads it only globally).
jest.setTimeout(90_000);

/**
 * Ten clients change one flag at once. With If-Match each applies on the version it read or gets 409 and
 * re-reads; without it the flags service retries on the latest version. Either way no update is lost: the
 * versions handed out are distinct and consecutive, the history holds exactly the applied changes in order, and
 * the final state is the last one applied.
 */
let system: RollgateSystem;

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

const FLAGS = '/api/v1/feature-flags';
const CLIENTS = 10;
const percentOf = (client: number): number => 11 + client * 7;
const ppmOf = (percent: number): number => percent * 10_000;
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

interface Applied {
  client: number;
  version: number;
  ppm: number;
}

async function createFlag(): Promise<string> {
  const key = uniqueKey('contended');
  const created = await system.api('POST', FLAGS, { name: key, rollout_percentage: 10, target_environments: ['production'] });
  expect(created.status).toBe(201);
  return key;
}

/** The applied changes must be the history after version 1, in version order, and the last one the state. */
async function expectNoLostUpdate(key: string, applied: Applied[]): Promise<void> {
  const byVersion = [...applied].sort((a, b) => a.version - b.version);
  expect(byVersion.map((a) => a.version)).toEqual(range(2, CLIENTS));
  expect(new Set(byVersion.map((a) => a.client)).size).toBe(CLIENTS);

  const history = await historyUpTo(system, key, CLIENTS + 1);
  expect(history.map((entry) => entry.version)).toEqual(range(1, CLIENTS + 1));
  const changes = history.slice(1);
  expect(changes.map((entry) => ({ version: entry.version, ppm: entry.after?.environments['production']?.default_rollout.ppm }))).toEqual(
    byVersion.map(({ version, ppm }) => ({ version, ppm })),
  );
  // Each change was decided on the state the previous one left.
  for (const [i, entry] of changes.entries()) expect(entry.before).toEqual(history[i]!.after);

  const final = await system.api('GET', `${FLAGS}/${key}`);
  expect(final.body.version).toBe(CLIENTS + 1);
  expect(final.body.environments.production.default_rollout).toEqual({ type: 'percentage', ppm: byVersion[CLIENTS - 1]!.ppm });
}

it('10 clients with If-Match: each applies on the version it read or gets 409 and retries; nothing is lost', async () => {
  const key = await createFlag();
  const conflicts: unknown[] = [];
  const applied = await Promise.all(
    range(0, CLIENTS).map(async (client): Promise<Applied> => {
      const percent = percentOf(client);
      for (let attempt = 0; attempt < 100; attempt++) {
        const read = await system.api('GET', `${FLAGS}/${key}`);
        expect(read.status).toBe(200);
        const etag = read.headers.get('etag');
        expect(etag).toBe(`"${read.body.version}"`);
        const put = await system.api('PUT', `${FLAGS}/${key}`, { rollout_percentage: percent }, { 'if-match': etag! });
        if (put.status === 409) {
          conflicts.push(put.body);
          continue;
        }
        expect(put.status).toBe(200);
        // Applied on exactly the version it read.
        expect(put.body.version).toBe(read.body.version + 1);
        expect(put.headers.get('etag')).toBe(`"${put.body.version}"`);
        return { client, version: put.body.version, ppm: ppmOf(percent) };
      }
      throw new Error(`client ${client} never got its change in`);
    }),
  );
  for (const conflict of conflicts) expect(conflict).toMatchObject({ code: 'FLAGS.VERSION_CONFLICT' });
  await expectNoLostUpdate(key, applied);
});

it('10 clients without If-Match: all apply (the service retries on the latest version) and the history has 10 changes', async () => {
  const key = await createFlag();
  const replies = await Promise.all(
    range(0, CLIENTS).map((client) =>
      system.api('PUT', `${FLAGS}/${key}/environments/production/rollout`, { rollout_percentage: percentOf(client) }),
    ),
  );
  expect(replies.map((reply) => ({ status: reply.status, code: reply.body?.code }))).toEqual(
    replies.map(() => ({ status: 200, code: undefined })),
  );
  await expectNoLostUpdate(
    key,
    replies.map((reply, client) => ({ client, version: reply.body.version, ppm: ppmOf(percentOf(client)) })),
  );
});
