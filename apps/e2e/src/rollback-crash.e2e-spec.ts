import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { BusClient, FakeKubernetes, mapLimit, RollgateSystem, WebhookReceiver } from './harness/index.js';
import { waitFor } from '#rollgate/testing';

jest.setTimeout(300_000);

const SECRET = 'crash-webhook-secret-0123456789';
const EXECUTIONS = 50;
const KILLS = 6;
const SEED = Number(process.env['ROLLGATE_CRASH_SEED'] ?? Date.now() % 100_000);

/** A small seeded PRNG (mulberry32): the kill times of a failing run can be replayed with ROLLGATE_CRASH_SEED. */
const random = (() => {
  let a = SEED;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
})();

let system: RollgateSystem;
let bus: BusClient;
let hooks: WebhookReceiver;
let kube: FakeKubernetes;

const ok = async <T>(reply: Promise<{ ok: true; result: T } | { ok: false; error: unknown }>): Promise<T> => {
  const r = await reply;
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.result;
};

beforeAll(async () => {
  hooks = await WebhookReceiver.start(SECRET);
  hooks.delayMs.set('/crash', 80);
  kube = await FakeKubernetes.start();
  system = await RollgateSystem.start({
    services: ['flags', 'rollback', 'gateway'],
    env: {
      flags: { ROLLGATE_FLAGS_SEED: 'false' },
      rollback: {
        ROLLGATE_ROLLBACK_SEED: 'false',
        ROLLGATE_ROLLBACK_WEBHOOK_SECRET: SECRET,
        ROLLGATE_ROLLBACK_KUBE_API_URL: kube.url,
        ROLLGATE_ROLLBACK_KUBE_INSECURE: 'true',
        ROLLGATE_ROLLBACK_SDK_STATUS_INTERVAL_MS: '200',
        ROLLGATE_ROLLBACK_CONSISTENCY_WAIT_MS: '1000',
        ROLLGATE_ROLLBACK_POLL_MS: '50',
      },
    },
  });
  bus = await BusClient.connect(system.nats);
});

afterAll(async () => {
  await bus?.close();
  await system?.stop();
  await hooks?.close();
  await kube?.close();
});

describe('rollback executions survive kill -9 of the rollback service', () => {
  it(`${EXECUTIONS} multi-step executions (flags, webhook, Kubernetes), ${KILLS} SIGKILLs at random points: each finishes once, every side effect once`, async () => {
    const indexes = Array.from({ length: EXECUTIONS }, (_, i) => i);
    await mapLimit(indexes, 10, async (i) => {
      const key = `crash_${i}`;
      kube.add('default', `svc-${i}`);
      await ok(bus.request('rg.cmd.flags.create', {
        commandId: randomUUID(),
        actor: 'setup',
        payload: { flag: { key, name: key, type: 'boolean', environments: { production: { enabled: true, defaultRollout: { type: 'all_users' } }, staging: { enabled: true, defaultRollout: { type: 'all_users' } } } } },
      }));
      await ok(bus.request('rg.cmd.rollback.create-plan', {
        commandId: randomUUID(),
        actor: 'setup',
        payload: {
          plan: {
            id: `crash_plan_${i}`,
            name: `crash ${i}`,
            rollbackType: 'manual',
            scope: 'feature_flag',
            targetId: key,
            steps: [
              { type: 'set_rollout', config: { flagId: key, percentage: 20 } },
              { type: 'disable_feature_flag', config: { flagId: key } },
              { type: 'call_webhook', config: { url: `${hooks.url}/crash` } },
              { type: 'restart_service', config: { serviceName: `svc-${i}` } },
            ],
          },
        },
      }));
    });

    const ids: string[] = [];
    const starting = mapLimit(indexes, 5, async (i) => {
      // A start cut off by a kill is retried with the same command id: it lands on the same execution.
      const commandId = `crash-start-${i}`;
      const execution = await waitFor(`start ${i}`, async () => {
        const reply = await bus.request<{ id: string }>('rg.cmd.rollback.execute', { commandId, actor: 'oncall', reason: 'crash drill', payload: { planId: `crash_plan_${i}` } }, 3_000).catch(() => null);
        return reply?.ok ? reply.result : undefined;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      ids[i] = execution.id;
    });
    const kills: number[] = [];
    const killing = (async () => {
      const t0 = Date.now();
      for (let k = 0; k < KILLS; k++) {
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(random() * 700)));
        await system.kill('rollback');
        kills.push(Date.now() - t0);
        await system.restart('rollback');
      }
    })();
    await Promise.all([starting, killing]);

    const states = await mapLimit(ids, 10, (id) =>
      waitFor(`execution ${id} finished`, async () => {
        const reply = await bus.request<{ status: string; error?: { code: string; message: string }; steps: Array<{ attempts: number; status: string; attemptErrors: unknown[] }> }>('rg.qry.rollback.execution', { id }).catch(() => null);
        return reply?.ok && ['succeeded', 'failed', 'cancelled', 'preempted'].includes(reply.result.status) ? reply.result : undefined;
      }, { timeoutMs: 120_000, intervalMs: 200 }),
    );
    if (states.some((s) => s.status !== 'succeeded')) console.log(system.logs('rollback').split('\n').filter((line) => line.includes('paused')).slice(0, 5).join('\n'));
    expect(states.filter((s) => s.status !== 'succeeded').map((s) => ({ status: s.status, error: s.error, steps: s.steps.map((step) => [step.status, step.attempts, step.attemptErrors]) }))).toEqual([]);

    // The saga's log: every step started once and succeeded once, whatever the kills cut.
    const steps = await system.sql<{ stream_id: string; event_type: string; idx: number; n: number }>(
      `SELECT stream_id, event_type, (data->>'index')::int AS idx, count(*)::int AS n FROM es.events
        WHERE stream_id LIKE 'rollback-%' AND stream_id NOT LIKE 'rollback-plan-%' AND event_type IN ('StepStarted', 'StepSucceeded', 'ExecutionStarted', 'ExecutionSucceeded')
        GROUP BY 1, 2, 3`,
      [],
      'rollback',
    );
    expect(steps.filter((row) => row.n !== 1)).toEqual([]);
    expect(steps.filter((row) => row.event_type === 'StepSucceeded')).toHaveLength(EXECUTIONS * 5);
    expect(steps.filter((row) => row.event_type === 'ExecutionSucceeded')).toHaveLength(EXECUTIONS);

    // The flags log: each rollback command applied once (its id is the execution and step), and nothing else changed.
    const flagEvents = await system.sql<{ stream_id: string; event_type: string; n: number }>(
      `SELECT stream_id, event_type, count(*)::int AS n FROM es.events WHERE stream_id LIKE 'flag-crash_%' AND event_type <> 'FlagCreated' GROUP BY 1, 2`,
    );
    expect(flagEvents.filter((row) => row.n !== 2)).toEqual([]);
    expect(flagEvents).toHaveLength(EXECUTIONS * 2);
    const commandIds = await system.sql<{ n: number; distinct_ids: number; rollback_ids: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT metadata->>'commandId')::int AS distinct_ids,
              count(*) FILTER (WHERE metadata->>'commandId' LIKE 'rb:%')::int AS rollback_ids
         FROM es.events WHERE stream_id LIKE 'flag-crash_%' AND event_type <> 'FlagCreated'`,
    );
    expect(commandIds[0]).toEqual({ n: EXECUTIONS * 4, distinct_ids: EXECUTIONS * 4, rollback_ids: EXECUTIONS * 4 });

    // The webhook receiver and the fake Kubernetes API: one effect per idempotency key.
    const effects = hooks.effects();
    expect([...effects.keys()].sort()).toEqual(ids.map((id) => `rb-${id}-2`).sort());
    expect(hooks.deliveries.every((d) => d.signatureValid)).toBe(true);
    expect(indexes.map((i) => kube.rollouts.get(`default/svc-${i}`)?.length ?? 0)).toEqual(indexes.map(() => 1));

    const redelivered = [...effects.values()].filter((n) => n > 1).length;
    const repatched = kube.patches.length - EXECUTIONS;
    const retried = states.flatMap((s) => s.steps).filter((step) => step.attempts > 1).length;
    console.log(
      `crash drill (seed ${SEED}): ${KILLS} kills at ${kills.join(', ')} ms; ${EXECUTIONS} executions succeeded; ` +
        `steps resumed with a further attempt: ${retried}; webhook deliveries ${hooks.deliveries.length} for ${effects.size} keys (${redelivered} keys sent again); ` +
        `Kubernetes patches ${kube.patches.length} for ${EXECUTIONS} rollouts (${repatched} repeated, no new rollout)`,
    );
  });
});
