import { jest } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventStreamName } from '#rollgate/contracts';
import { startNatsCluster, waitFor, type NatsCluster } from '#rollgate/testing';
import { RollgateSystem, mapLimit, streamMessages, uniqueKey, type ServiceName } from './harness/index.js';
import { ENVIRONMENT, expectConverged, observedClients, type ObservedClient } from './harness/sdk.js';

jest.setTimeout(180_000);

/**
 * Issue 12 part D: two replicas of every service against one database per service and a three-node NATS cluster
 * (every event stream with three replicas). 5 000 flag changes go through both gateways, each with its own
 * Idempotency-Key, retried with the same key on any failure, as a client must. Mid-stream the node leading the
 * flags stream is killed (-9), then one replica of each service: the flags one that leads the publisher. Then:
 * the stream holds every event of the log exactly once and in the log's order, every command id was applied once
 * (one event each, none twice), every flag is at its last change, and every SDK client converged on it.
 */
const SERVICES: ServiceName[] = ['flags', 'rollback', 'canary', 'gateway'];
const FLAG_COUNT = 20;
const CHANGES = 5_000;
const PER_FLAG = CHANGES / FLAG_COUNT;
const KILL_NATS_AT = 1_500;
const KILL_REPLICAS_AT = 2_500;
const FLAGS = '/api/v1/feature-flags';
const STREAM = eventStreamName('flags');

let cluster: NatsCluster;
let system: RollgateSystem;
let admin: NatsConnection;
let observed: ObservedClient[] = [];

let bootMs = 0;

beforeAll(async () => {
  const booting = Date.now();
  cluster = await startNatsCluster(3);
  const replicated = { ROLLGATE_STREAM_REPLICAS: '3' };
  system = await RollgateSystem.start({
    services: SERVICES,
    nats: cluster,
    replicas: { flags: 2, rollback: 2, canary: 2, gateway: 2 },
    parallel: true,
    env: {
      flags: { ...replicated, ROLLGATE_FLAGS_SEED: 'false' },
      rollback: { ...replicated, ROLLGATE_ROLLBACK_SEED: 'false' },
      canary: replicated,
    },
  });
  admin = await connect({ ...cluster.options('admin'), servers: cluster.url.split(','), name: 'scale-out-admin' });
  bootMs = Date.now() - booting;
}, 150_000);

afterAll(async () => {
  await mapLimit(observed, 10, (o) => o.client.close());
  await admin?.close();
  await system?.stop();
  await cluster?.destroy();
});

/** The rollout percentage of a flag's i-th change: never the one before it, so every change is an event. */
const percentageOf = (i: number): number => (i % 99) + 1;

interface Completion {
  at: number;
  attempts: number;
}

/** PUT of one change with its Idempotency-Key through any live gateway, retried with the same key until it is a 200. */
async function applyChange(key: string, i: number, n: number): Promise<Completion> {
  const idempotencyKey = `scale-${key}-${i}`;
  for (let attempt = 1; ; attempt++) {
    const gateways = [0, 1].filter((r) => system.replicaRunning('gateway', r));
    const base = system.replicaUrl('gateway', gateways[(n + attempt) % gateways.length]!);
    try {
      const response = await fetch(`${base}${FLAGS}/${key}/environments/${ENVIRONMENT}/rollout`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${system.adminToken}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify({ rollout_percentage: percentageOf(i) }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      if (response.status === 200) return { at: Date.now(), attempts: attempt };
      if (response.status < 500) throw new Error(`change ${i} of ${key}: ${response.status} ${text}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('change ')) throw error;
      // refused or reset by a killed gateway, or timed out: retry
    }
    if (attempt >= 200) throw new Error(`change ${i} of ${key} not applied after ${attempt} attempts`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function publisherLeader(): Promise<number> {
  return waitFor('one flags replica leading the publisher', async () => {
    const leading: number[] = [];
    for (const replica of [0, 1]) {
      if (!system.replicaRunning('flags', replica)) continue;
      const text = await (await fetch(`${system.replicaUrl('flags', replica)}/metrics`)).text();
      if (/^rollgate_publisher_leader_active\{[^}]*\} 1$/m.test(text)) leading.push(replica);
    }
    return leading.length === 1 ? leading[0] : undefined;
  });
}

const largestGap = (times: number[]): { ms: number; at: number } => {
  let gap = { ms: 0, at: 0 };
  for (let i = 1; i < times.length; i++) if (times[i]! - times[i - 1]! > gap.ms) gap = { ms: times[i]! - times[i - 1]!, at: times[i - 1]! };
  return gap;
};

it(`${CHANGES} flag changes through two replicas of every service survive kill -9 of the stream leader node and of one replica each`, async () => {
  const jsm = await jetstreamManager(admin);
  for (const service of ['flags', 'rollback', 'canary'] as const) {
    expect((await jsm.streams.info(eventStreamName(service))).config.num_replicas).toBe(3);
  }
  const keys = Array.from({ length: FLAG_COUNT }, (_, i) => uniqueKey(`scale${i}`));
  for (const key of keys) {
    const created = await system.api('POST', FLAGS, { name: key, rollout_percentage: 50, target_environments: [ENVIRONMENT] });
    expect(created.status).toBe(201);
  }
  observed = await observedClients(system, 4, keys, { servers: cluster.url.split(',') });

  let done = 0;
  const completions: Completion[] = [];
  const kills: Record<string, number> = {};
  let killing: Promise<void> = Promise.resolve();
  const afterEach = (): void => {
    done++;
    if (done === KILL_NATS_AT) {
      killing = killing.then(async () => {
        const leader = (await cluster.streamLeader(STREAM))!;
        kills['nats'] = Date.now();
        kills[`nats:${leader}`] = kills['nats'];
        await cluster.node(leader).stop(true);
      });
    }
    if (done === KILL_REPLICAS_AT) {
      killing = killing.then(async () => {
        const leader = await publisherLeader();
        kills['replicas'] = Date.now();
        await Promise.all([
          system.killReplica('flags', leader),
          system.killReplica('rollback', 1),
          system.killReplica('canary', 1),
          system.killReplica('gateway', 1),
        ]);
      });
    }
  };
  const started = Date.now();
  await Promise.all(
    keys.map(async (key, f) => {
      for (let i = 0; i < PER_FLAG; i++) {
        completions.push(await applyChange(key, i, f * PER_FLAG + i));
        afterEach();
      }
    }),
  );
  await killing;
  const writeMs = Date.now() - started;

  // The stream: every event of the log once, in the log's order (its gap-free read order), nothing else.
  const log = await system.sql<{ event_id: string; command_id: string | null }>(
    `SELECT event_id::text, metadata->>'commandId' AS command_id FROM es.events ORDER BY transaction_id, global_position`,
  );
  const messages = await streamMessages(cluster, STREAM, log.length);
  expect(messages.map((m) => m.eventId)).toEqual(log.map((e) => e.event_id));
  expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));

  // Every command applied once: one es.commands row and exactly one event per Idempotency-Key.
  const changeEvents = log.filter((e) => e.command_id?.startsWith('scale-'));
  expect(changeEvents).toHaveLength(CHANGES);
  expect(new Set(changeEvents.map((e) => e.command_id)).size).toBe(CHANGES);
  const commands = await system.sql<{ n: number }>(`SELECT count(*)::int AS n FROM es.commands WHERE command_id LIKE 'scale-%'`);
  expect(commands[0]!.n).toBe(CHANGES);

  // Every flag at its last change, at version 1 + PER_FLAG, and every SDK client holding exactly that.
  const convergence = await expectConverged(system, observed, keys, 60_000);
  for (const key of keys) {
    const flag = convergence.truth.flags.find((f) => f.key === key)!;
    expect([key, flag.version]).toEqual([key, 1 + PER_FLAG]);
  }

  const publicationGap = largestGap(messages.map((m) => m.timestampMs));
  const commandGap = largestGap(completions.map((c) => c.at).sort((a, b) => a - b));
  const firstAfter = (t: number): number => messages.find((m) => m.timestampMs > t)!.timestampMs - t;
  const retried = completions.filter((c) => c.attempts > 1).length;
  process.stdout.write(
    `scale-out: booted in ${bootMs} ms; ${CHANGES} changes in ${writeMs} ms (${Math.round((CHANGES / writeMs) * 1000)}/s), ${retried} needed a retry; ` +
      `stream leader killed: next publication ${Math.round(firstAfter(kills['nats']!))} ms later; ` +
      `replicas killed: next publication ${Math.round(firstAfter(kills['replicas']!))} ms later; ` +
      `largest publication gap ${Math.round(publicationGap.ms)} ms at +${Math.round(publicationGap.at - started)} ms, ` +
      `largest gap between completed commands ${commandGap.ms} ms at +${commandGap.at - started} ms ` +
      `(kills at +${kills['nats']! - started} and +${kills['replicas']! - started} ms); convergence ${convergence.waitedMs} ms\n`,
  );
});
