import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { jest } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { waitFor } from '#rollgate/testing';
import { RollgateSystem, uniqueKey } from './harness/index.js';
import { ENVIRONMENT, clientState, observedClients, serviceSnapshot, type ObservedClient } from './harness/sdk.js';

jest.setTimeout(120_000);

/**
 * Issue 8 acceptance: foreign messages in RG_EVT_FLAGS, put there by someone with the rights to (here the admin
 * user; no service or SDK user may), neither stop the publisher nor mislead the SDKs. A header-less message and a
 * forged event (Rollgate's headers, the flag's next version, the opposite state) land between real changes; the
 * real changes keep flowing, and every SDK client ends holding exactly the service's snapshot.
 */
const FLAGS = '/api/v1/feature-flags';
let system: RollgateSystem;
let admin: NatsConnection;
let observed: ObservedClient[] = [];
const keys = [uniqueKey('inj_a'), uniqueKey('inj_b')];

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
  for (const key of keys) {
    expect((await system.api('POST', FLAGS, { name: key, target_environments: [ENVIRONMENT] })).status).toBe(201);
  }
  admin = await connect({ ...system.nats.options('admin'), name: 'injector' });
  observed = await observedClients(system, 5, keys);
}, 120_000);

afterAll(async () => {
  await Promise.all(observed.map((o) => o.client.close()));
  await admin?.close();
  await system?.stop();
});

async function flagState(key: string): Promise<{ version: number; enabled: boolean }> {
  const response = await system.api('GET', `${FLAGS}/${key}`);
  expect(response.status).toBe(200);
  return { version: response.body.version as number, enabled: response.body.environments[ENVIRONMENT].enabled as boolean };
}

async function toggle(key: string): Promise<void> {
  const { enabled } = await flagState(key);
  const response = await system.api('PUT', `${FLAGS}/${key}/environments/${ENVIRONMENT}`, { enabled: !enabled });
  expect(response.status).toBe(200);
}

async function injectHeaderless(key: string): Promise<void> {
  await jetstream(admin).publish(`rg.evt.flags.flag.${key}.FlagToggled`, 'not an event');
}

/** What the publisher would write for the flag's next version, but saying the opposite of the truth. */
async function injectForged(key: string): Promise<void> {
  const { version, enabled } = await flagState(key);
  const next = version + 1;
  const eventId = randomUUID();
  const recordedAt = new Date().toISOString();
  const h = natsHeaders();
  for (const [name, value] of Object.entries({
    'Rg-Event-Type': 'FlagToggled',
    'Rg-Schema-Version': '1',
    'Rg-Stream-Id': `flag-${key}`,
    'Rg-Stream-Version': String(next),
    'Rg-Tx': '999999999999',
    'Rg-Global-Position': '999999999999',
    'Rg-Recorded-At': recordedAt,
  })) {
    h.set(name, value);
  }
  const body = JSON.stringify({
    type: 'FlagToggled', data: { environment: ENVIRONMENT, enabled: !enabled }, metadata: { actor: 'mallory' },
    streamId: `flag-${key}`, streamVersion: next, eventId, schemaVersion: 1, globalPosition: '999999999999',
    transactionId: '999999999999', recordedAt,
  });
  await jetstream(admin).publish(`rg.evt.flags.flag.${key}.FlagToggled`, body, { msgID: eventId, headers: h });
}

it('a header-less and a forged message do not stop the publisher, and every SDK ends equal to the service snapshot', async () => {
  const [a, b] = keys as [string, string];
  await injectHeaderless(a);
  await toggle(a);
  await injectForged(a);
  await toggle(b);
  await toggle(a);
  await injectForged(b);
  await injectHeaderless(b);
  await toggle(b);
  await toggle(a);

  // The last real change reached the clients: the publisher kept going past both kinds of message.
  const truth = await waitFor(
    'every client at the service snapshot position',
    async () => {
      const snapshot = await serviceSnapshot(system);
      return observed.every((o) => o.client.position === snapshot.position) ? snapshot : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const expected = { position: truth.position, flags: [...truth.flags].sort(byKey), segments: [...truth.segments].sort(byKey) };
  await waitFor('every client holding exactly the snapshot', async () => observed.every((o) => isDeepStrictEqual(clientState(o.client), expected)), {
    timeoutMs: 15_000,
  });
  for (const key of keys) {
    const { enabled } = await flagState(key);
    for (const o of observed) expect(o.client.isEnabled(key, { userId: 'anyone' })).toBe(enabled);
  }
});

const byKey = (x: { key: string }, y: { key: string }): number => x.key.localeCompare(y.key);
