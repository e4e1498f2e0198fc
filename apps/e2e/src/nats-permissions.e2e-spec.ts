import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { eventStreamName, type Reply } from '#rollgate/contracts';
import type { NatsUser } from '#rollgate/testing';
import { RollgateSystem, eventCount, uniqueKey } from './harness/index.js';
import { observedClient } from './harness/sdk.js';

jest.setTimeout(90_000);

/**
 * Issue 8 item 1: the project's NATS runs deploy/nats/rollgate.conf. Strangers cannot connect; each user can
 * do its own job and nothing else. Every denial is checked twice: the server refuses (a permissions
 * violation), and nothing happened (the log, the stream and the flag are unchanged).
 */
const STREAM = eventStreamName('flags');
const FLAGS = '/api/v1/feature-flags';
let system: RollgateSystem;
const key = uniqueKey('perm');
const connections: NatsConnection[] = [];

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
  const created = await system.api('POST', FLAGS, { name: key, target_environments: ['production'] });
  expect(created.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close()));
  await system?.stop();
});

async function login(user: NatsUser): Promise<NatsConnection> {
  const nc = await connect({ ...system.nats.options(user), name: `perm-${user}` });
  connections.push(nc);
  return nc;
}

const envelope = (payload: unknown): string => JSON.stringify({ commandId: randomUUID(), actor: 'mallory', payload });
const toggleTo = (enabled: boolean): string => envelope({ key, environment: 'production', enabled });

/** The error a request failed with (a request that gets a reply resolves to `undefined`). */
async function requestError(nc: NatsConnection, subject: string, body: string): Promise<Error | undefined> {
  try {
    await nc.request(subject, body, { timeout: 3_000 });
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

const isPermissionViolation = (error: Error | undefined): boolean =>
  error !== undefined && /Permissions Violation/i.test(`${error.message} ${String((error as { cause?: unknown }).cause ?? '')}`);

/** Publishes fire-and-forget and resolves to the server's asynchronous permissions error for `subject`, if any. */
async function publishDenied(nc: NatsConnection, subject: string, body: string): Promise<boolean> {
  const denied = (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error' && String(status.error).includes(subject)) return true;
    }
    return false;
  })();
  nc.publish(subject, body);
  await nc.flush();
  return Promise.race([denied, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000))]);
}

async function streamMessages(): Promise<number> {
  const jsm = await jetstreamManager(await login('admin'));
  return (await jsm.streams.info(STREAM)).state.messages;
}

async function productionEnabled(): Promise<boolean> {
  const flag = await system.api('GET', `${FLAGS}/${key}`);
  expect(flag.status).toBe(200);
  return flag.body.environments.production.enabled as boolean;
}

describe('a connection without the right credentials', () => {
  it('is refused without credentials and with a wrong password', async () => {
    await expect(connect({ servers: system.nats.url, reconnect: false })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: system.nats.url, user: 'sdk', pass: 'guessed', reconnect: false })).rejects.toThrow(
      /Authorization Violation/,
    );
  });
});

describe("an SDK's credentials", () => {
  it('follow the feed and load the snapshot: a real SDK client becomes ready and sees the flag', async () => {
    const observed = await observedClient(system, 'perm-sdk', [key]);
    try {
      expect(observed.client.getFlag(key)?.key).toBe(key);
    } finally {
      await observed.client.close();
    }
  });

  it('cannot send a command: the toggle is refused and nothing is appended', async () => {
    const [before, enabled] = [await eventCount(system), await productionEnabled()];
    const error = await requestError(await login('sdk'), 'rg.cmd.flags.toggle', toggleTo(!enabled));
    expect(isPermissionViolation(error)).toBe(true);
    expect(await eventCount(system)).toBe(before);
    expect(await productionEnabled()).toBe(enabled);
  });

  it('cannot publish into rg.evt.>, neither with JetStream nor plainly', async () => {
    const before = await streamMessages();
    const sdk = await login('sdk');
    const forged = JSON.stringify({ type: 'FlagToggled', data: { environment: 'production', enabled: true } });
    await expect(jetstream(sdk).publish(`rg.evt.flags.flag.${key}.FlagToggled`, forged)).rejects.toThrow(/Permissions Violation/);
    expect(await publishDenied(sdk, `rg.evt.flags.flag.${key}.FlagToggled`, forged)).toBe(true);
    expect(await streamMessages()).toBe(before);
  });

  it('cannot delete or purge the stream, nor delete a message', async () => {
    const before = await streamMessages();
    const jsm = await jetstreamManager(await login('sdk'));
    await expect(jsm.streams.delete(STREAM)).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.purge(STREAM)).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.deleteMessage(STREAM, 1)).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.update(STREAM, { max_msgs: 1 })).rejects.toThrow(/Permissions Violation/);
    expect(await streamMessages()).toBe(before);
  });

  it("cannot answer the service's commands or read other users' replies", async () => {
    const sdk = await login('sdk');
    for (const [subject, queue] of [
      ['rg.cmd.flags.toggle', 'flags-svc'],
      ['rg.cmd.flags.>', undefined],
      ['_INBOX_gateway.>', undefined],
      ['_INBOX.>', undefined],
    ] as const) {
      const subscription = sdk.subscribe(subject, queue === undefined ? {} : { queue });
      await expect(subscription.closed).resolves.toBeInstanceOf(Error);
    }
  });
});

describe("an operator's credentials", () => {
  it('may send a rollback command (the server lets it through) but not create a flag', async () => {
    const operator = await login('operator');
    const rollback = await requestError(operator, 'rg.cmd.rollback.execute', envelope({ planId: 'emergency_auto_submit' }));
    expect(isPermissionViolation(rollback)).toBe(false);

    const before = await eventCount(system);
    const created = await requestError(operator, 'rg.cmd.flags.create', envelope({ flag: { key: uniqueKey('op'), name: 'x', type: 'boolean', environments: {} } }));
    expect(isPermissionViolation(created)).toBe(true);
    expect(await eventCount(system)).toBe(before);
  });

  it('may query', async () => {
    const reply = (await (await login('operator')).request('rg.qry.flags.get', JSON.stringify({ key }), { timeout: 5_000 })).json<Reply>();
    expect(reply.ok).toBe(true);
  });
});

describe("the services' own credentials", () => {
  it('the gateway may send commands but not publish events; the flags service may not publish another service\'s events', async () => {
    const gateway = await login('gateway');
    const enabled = await productionEnabled();
    const reply = (await gateway.request('rg.cmd.flags.toggle', toggleTo(!enabled), { timeout: 5_000 })).json<Reply>();
    expect(reply.ok).toBe(true);
    expect(await productionEnabled()).toBe(!enabled);
    expect(await publishDenied(gateway, `rg.evt.flags.flag.${key}.FlagToggled`, '{}')).toBe(true);

    const flags = await login('flags');
    expect(await publishDenied(flags, 'rg.evt.canary.canary.c1.CanaryStarted', '{}')).toBe(true);
    await expect((await jetstreamManager(flags)).streams.delete(STREAM)).rejects.toThrow(/Permissions Violation/);
  });

  it('a login that uses the default inbox instead of its own gets no replies', async () => {
    const { inboxPrefix: _ignored, ...withDefaultInbox } = system.nats.options('gateway');
    const nc = await connect({ ...withDefaultInbox, name: 'perm-default-inbox' });
    connections.push(nc);
    const error = await requestError(nc, 'rg.qry.flags.get', JSON.stringify({ key }));
    expect(isPermissionViolation(error)).toBe(true);
  });
});
