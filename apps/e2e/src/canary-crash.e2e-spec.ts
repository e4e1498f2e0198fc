import { jest } from '@jest/globals';
import { waitFor } from '#rollgate/testing';
import { BusClient, RollgateSystem, mapLimit, uniqueKey, type ServiceName } from './harness/index.js';
import { canaryUntil, definitionOf, sdkTraffic, seededRandom, sqlOn } from './harness/canary.js';
import { ENVIRONMENT, observedClient, type ObservedClient } from './harness/sdk.js';

jest.setTimeout(300_000);

/**
 * Issue 10's crash safety: canaries at once (two failing ones rolled back through the rollback service, the second
 * started mid-drill; a healthy one promoted; a gradual plan advancing to its promotion) while the canary service and the rollback
 * service are killed with SIGKILL and restarted at random moments: right after a decision is recorded (before
 * its flag change or trigger), while the rollback service runs the end_canary step, and at random times between.
 * The event logs then show each decision once, each flag change once, and every canary in its right end state.
 */
const SEED = Number(process.env['ROLLGATE_CRASH_SEED'] ?? Date.now() % 100_000);
const MAX_KILLS = 10;
const CLIENTS = 3;
const API = '/api/v1';
/** What the killer reacts to: a decision recorded, a flag step recorded, the rollback execution's progress. */
const KILL_POINTS =
  /\.(CanaryRegressionDetected|CanaryRollbackTriggered|CanaryCertifiedSafe|CanaryStageAdvanced|CanaryFlagChanged|CanaryPromotionRequested|CanaryEndRequested|ExecutionStarted|StepStarted)$/;

let system: RollgateSystem;
let bus: BusClient;
const clients: ObservedClient[] = [];

beforeAll(async () => {
  system = await RollgateSystem.start({
    services: ['flags', 'rollback', 'canary', 'gateway'],
    env: {
      flags: { ROLLGATE_FLAGS_SEED: 'false', ROLLGATE_FLAGS_AUDIT_POLL_MS: '50' },
      rollback: { ROLLGATE_ROLLBACK_SEED: 'false', ROLLGATE_ROLLBACK_POLL_MS: '50' },
      canary: {
        CANARY_MONITORING_INTERVAL: '1',
        ROLLGATE_CANARY_LOOK_MS: '200',
        ROLLGATE_CANARY_REFRESH_MS: '500',
        // Longer than a restart of the rollback service: most runs end through its execution, some by the grace.
        ROLLGATE_CANARY_ROLLBACK_GRACE_MS: '4000',
      },
    },
  });
  bus = await BusClient.connect(system.nats, 'admin');
  for (let i = 0; i < CLIENTS; i++) {
    clients.push(
      await observedClient(system, `sdk-crash-${i}`, [], {
        outcomes: { enabled: true, windowMs: 500 },
        statusIntervalMs: 0,
      }),
    );
  }
}, 180_000);

afterAll(async () => {
  await mapLimit(clients, 10, (o) => o.client.close());
  await bus?.close();
  await system?.stop();
});

async function createFlag(key: string, percentage: number): Promise<Record<string, unknown>> {
  const created = await system.api('POST', `${API}/feature-flags`, {
    name: key,
    rollout_percentage: percentage,
    target_environments: [ENVIRONMENT],
  });
  expect(created.status).toBe(201);
  await waitFor(`every client to know ${key}`, async () => clients.every((o) => o.client.getFlag(key) !== undefined), {
    timeoutMs: 15_000,
  });
  return (await system.api('GET', `${API}/feature-flags/${key}`)).body;
}

/**
 * Creates and starts a canary over HTTP. One Idempotency-Key for every attempt: while a kill has the canary
 * service down the gateway answers 5xx, and the retry replays what the earlier attempt already did.
 */
async function startCanary(key: string, body: Record<string, unknown>): Promise<string> {
  const idempotencyKey = `crash-start-${key}`;
  const created = await waitFor(
    `the canary of ${key} started`,
    async () => {
      const response = await system.api(
        'POST',
        `${API}/canary-deployments`,
        { feature_flag_id: key, monitoring_duration_hours: 1, min_requests: 50, start: true, ...body },
        { 'idempotency-key': idempotencyKey },
      );
      if (response.status >= 500) return undefined;
      expect(response.status).toBe(201);
      return response;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  expect(created.body).toMatchObject({ status: 'running', applied_steps: ['stage-0'] });
  return String(created.body.id);
}

/**
 * Kills at the moments that matter (a fresh decision or step event, the rollback execution's progress; the first
 * of each kind always, later ones at random) and at random times between, each time the canary service, the
 * rollback service or both, after a random delay, down for a random while.
 */
function killer(random: () => number) {
  const events = bus.collect('rg.evt.>');
  const seen = new Set<string>();
  const kills: string[] = [];
  let read = 0;
  let running = true;
  const t0 = Date.now();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  // Kills go round canary, rollback, both (from a seeded start): any three kills cover each.
  const rounds: ServiceName[][] = [['canary'], ['rollback'], ['canary', 'rollback']];
  const offset = Math.floor(random() * rounds.length);
  const pick = (): ServiceName[] => rounds[(kills.length + offset) % rounds.length]!;
  const loop = (async () => {
    let nextRandomKill = Date.now() + 300 + random() * 1_200;
    while (running && kills.length < MAX_KILLS) {
      let reason: string | undefined;
      for (; read < events.messages.length && reason === undefined; read++) {
        const point = KILL_POINTS.exec(events.messages[read]!.subject)?.[1];
        if (point === undefined) continue;
        const first = !seen.has(point);
        seen.add(point);
        if (first || random() < 0.25) reason = point;
      }
      if (reason === undefined && Date.now() >= nextRandomKill) reason = 'random';
      if (reason === undefined) {
        await sleep(10);
        continue;
      }
      await sleep(Math.floor(random() * 250));
      const targets = pick();
      await Promise.all(targets.map((name) => system.kill(name)));
      kills.push(`${targets.join('+')} after ${reason} at ${Date.now() - t0} ms`);
      await sleep(Math.floor(random() * 800));
      await Promise.all(targets.map((name) => system.restart(name)));
      // Events published while a service was down are stale kill points.
      read = events.messages.length;
      nextRandomKill = Date.now() + 300 + random() * 1_200;
    }
  })();
  return {
    kills,
    stop: async () => {
      running = false;
      await loop;
      await events.stop();
    },
  };
}

interface StoredEvent {
  stream_id: string;
  event_type: string;
  data: Record<string, unknown>;
  command_id: string | null;
}

const canaryEvents = (id: string) =>
  sqlOn<StoredEvent>(
    system,
    'canary',
    "SELECT stream_id, event_type, data, metadata->>'commandId' AS command_id FROM es.events WHERE stream_id = $1 ORDER BY stream_version",
    [`canary-${id}`],
  );
const flagEvents = (key: string) =>
  sqlOn<StoredEvent>(
    system,
    'flags',
    "SELECT stream_id, event_type, data, metadata->>'commandId' AS command_id FROM es.events WHERE stream_id = $1 AND event_type <> 'FlagCreated' ORDER BY stream_version",
    [`flag-${key}`],
  );
const countOf = (events: readonly StoredEvent[], type: string): number =>
  events.filter((e) => e.event_type === type).length;

/**
 * The rollback service's side of a regression decision, asked once. Answered, its one automatic execution ended
 * the canary; not answered (down at that moment), the canary restored the flag itself, and an execution the
 * request still created before the kill runs to its end against the finished canary. Either way each saga step
 * once. Returns which way it went.
 */
async function expectRollbackExecutions(canaryId: string, log: readonly StoredEvent[]): Promise<string> {
  const triggered = log.find((e) => e.event_type === 'CanaryRollbackTriggered');
  let listed: unknown;
  const executions = await waitFor(
    `the rollback executions of ${canaryId} finished`,
    async () => {
      const response = await system.api('GET', `${API}/rollbacks?target_id=${canaryId}`);
      listed = response.body;
      if (response.status !== 200) return undefined;
      const list = response.body.rollbacks as Array<Record<string, unknown>>;
      return list.every((e) => e['status'] === 'succeeded') ? list : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; executions: ${JSON.stringify(listed)}`);
  });
  if (triggered !== undefined) expect(executions.map((e) => e['id'])).toEqual([triggered.data['executionId']]);
  else expect(executions.length).toBeLessThanOrEqual(1);
  for (const execution of executions) {
    expect(execution).toMatchObject({ type: 'automatic', scope: 'canary_deployment' });
    const sagaRows = await sqlOn<{ event_type: string; idx: number | null; n: number }>(
      system,
      'rollback',
      `SELECT event_type, (data->>'index')::int AS idx, count(*)::int AS n FROM es.events
        WHERE stream_id = $1 AND event_type IN ('ExecutionStarted', 'StepStarted', 'StepSucceeded', 'ExecutionSucceeded')
        GROUP BY 1, 2`,
      [`rollback-${String(execution['id'])}`],
    );
    expect(sagaRows.filter((row) => row.n !== 1)).toEqual([]);
    expect(sagaRows.map((row) => row.event_type).sort()).toEqual([
      'ExecutionStarted',
      'ExecutionSucceeded',
      'StepStarted',
      'StepSucceeded',
    ]);
  }
  const refused = log.find((e) => e.event_type === 'CanaryRollbackTriggerFailed')?.data['error'] as
    { code: string } | undefined;
  return triggered === undefined
    ? `restored by the canary itself (trigger failed: ${refused?.code}), executions ${executions.length}`
    : 'ended by the rollback service';
}

describe('canary crash safety: kill -9 of the canary and rollback services at random points', () => {
  it('takes each decision once, applies each flag change once, and ends each canary right', async () => {
    const random = seededRandom(SEED);
    const failingKeys = [uniqueKey('crash_fail'), uniqueKey('crash_fail_late')];
    const healthyKey = uniqueKey('crash_ok');
    const gradualKey = uniqueKey('crash_grad');
    const failingBefore = await Promise.all(failingKeys.map((key) => createFlag(key, 5)));
    await createFlag(healthyKey, 0);
    await createFlag(gradualKey, 0);

    const failing = [
      await startCanary(failingKeys[0]!, {
        name: 'failing under crashes',
        strategy: 'percentage',
        target_percentage: 20,
      }),
    ];
    const healthy = await startCanary(healthyKey, {
      name: 'healthy under crashes',
      strategy: 'percentage',
      target_percentage: 30,
      min_duration_minutes: 0.3,
    });
    const gradual = await startCanary(gradualKey, {
      name: 'gradual under crashes',
      strategy: 'gradual',
      stages: [
        { percentage: 20, min_duration_minutes: 0.1 },
        { percentage: 35, min_duration_minutes: 0.1 },
        { percentage: 50, min_duration_minutes: 0.1 },
      ],
    });

    const kills = killer(random);
    const load = sdkTraffic(
      clients,
      [
        ...failingKeys.map((key) => ({ key, failure: { on: 0.5, off: 0.02 } })),
        { key: healthyKey, failure: { on: 0.05, off: 0.05 } },
        { key: gradualKey, failure: { on: 0.05, off: 0.05 } },
      ],
      SEED,
    );
    let ends: Array<Record<string, unknown>>;
    try {
      // A second failing canary starts mid-drill, while kills go on: its rollback runs among them too.
      await new Promise((resolve) => setTimeout(resolve, 5_000 + random() * 3_000));
      failing.push(
        await startCanary(failingKeys[1]!, {
          name: 'late failing under crashes',
          strategy: 'percentage',
          target_percentage: 20,
        }),
      );
      ends = await Promise.all([
        ...failing.map((id) =>
          canaryUntil(system, `failing canary ${id} rolled back`, id, (c) => c['status'] === 'rolled_back', 150_000),
        ),
        canaryUntil(system, 'the healthy canary promoted', healthy, (c) => c['status'] === 'promoted', 150_000),
        canaryUntil(system, 'the gradual canary promoted', gradual, (c) => c['status'] === 'promoted', 150_000),
      ]);
    } finally {
      await load.stop();
      await kills.stop();
    }
    console.log(`canary crash drill (seed ${SEED}): ${kills.kills.length} kills: ${kills.kills.join('; ')}`);
    // At least one kill of each kind (canary, rollback, both) happened during the runs.
    expect(kills.kills.length).toBeGreaterThanOrEqual(3);

    // End states.
    for (const end of ends.slice(0, 2))
      expect(end).toMatchObject({ regression: { metric: 'errors' }, applied_steps: ['stage-0', 'restore'] });
    expect(ends[2]).toMatchObject({ certified: true, applied_steps: ['stage-0', 'promote'] });
    expect(ends[3]).toMatchObject({ certified: true, applied_steps: ['stage-0', 'stage-1', 'stage-2', 'promote'] });

    // The canary streams: each decision once, each step recorded once.
    const decisions = (events: StoredEvent[]) =>
      Object.fromEntries(
        [
          'CanaryRegressionDetected',
          'CanaryCertifiedSafe',
          'CanaryStageAdvanced',
          'CanaryPromotionRequested',
          'CanaryPromoted',
          'CanaryRolledBack',
          'CanaryInconclusive',
        ].map((type) => [type, countOf(events, type)]),
      );
    const steps = (log: StoredEvent[]) =>
      log.filter((e) => e.event_type === 'CanaryFlagChanged').map((e) => e.data['step']);
    const [healthyLog, gradualLog] = await Promise.all([healthy, gradual].map(canaryEvents));
    for (const log of [healthyLog!, gradualLog!]) {
      expect(decisions(log)).toMatchObject({
        CanaryRegressionDetected: 0,
        CanaryCertifiedSafe: 1,
        CanaryPromotionRequested: 1,
        CanaryPromoted: 1,
        CanaryRolledBack: 0,
        CanaryInconclusive: 0,
      });
    }
    expect(countOf(healthyLog!, 'CanaryStageAdvanced')).toBe(0);
    expect(gradualLog!.filter((e) => e.event_type === 'CanaryStageAdvanced').map((e) => e.data['stage'])).toEqual([
      1, 2,
    ]);
    expect(steps(healthyLog!)).toEqual(['stage-0']);
    expect(steps(gradualLog!)).toEqual(['stage-0', 'stage-1', 'stage-2']);

    // The flags streams: one event per canary command id, in order, nothing else.
    const changes = async (key: string) => (await flagEvents(key)).map((e) => e.command_id);
    expect(await changes(healthyKey)).toEqual([
      `canary:${healthy}:stage-0:production`,
      `canary:${healthy}:promote:production`,
    ]);
    expect(await changes(gradualKey)).toEqual([
      `canary:${gradual}:stage-0:production`,
      `canary:${gradual}:stage-1:production`,
      `canary:${gradual}:stage-2:production`,
      `canary:${gradual}:promote:production`,
    ]);

    const paths: string[] = [];
    for (const [i, id] of failing.entries()) {
      const log = await canaryEvents(id);
      expect(decisions(log)).toMatchObject({
        CanaryRegressionDetected: 1,
        CanaryPromotionRequested: 0,
        CanaryRolledBack: 1,
        CanaryInconclusive: 0,
      });
      expect(countOf(log, 'CanaryRollbackTriggered') + countOf(log, 'CanaryRollbackTriggerFailed')).toBe(1);
      expect(countOf(log, 'CanaryEndRequested')).toBeLessThanOrEqual(1);
      expect(steps(log)).toEqual(['stage-0']);
      expect(await changes(failingKeys[i]!)).toEqual([
        `canary:${id}:stage-0:production`,
        `canary:${id}:restore:production`,
      ]);
      paths.push(await expectRollbackExecutions(id, log));
    }
    console.log(`canary crash drill: the regression rollbacks ${paths.join('; ')}`);

    // The flags as they should end: the failing one exactly as before its canary, the others fully rolled out;
    // every SDK serves them.
    for (const [i, key] of failingKeys.entries()) {
      const restored = (await system.api('GET', `${API}/feature-flags/${key}`)).body;
      expect(definitionOf(restored)).toEqual(definitionOf(failingBefore[i]!));
    }
    for (const key of [healthyKey, gradualKey]) {
      const flag = (await system.api('GET', `${API}/feature-flags/${key}`)).body;
      expect(flag.environments.production).toMatchObject({ enabled: true, default_rollout: { type: 'all_users' } });
    }
    const versions = await Promise.all(
      [...failingKeys, healthyKey, gradualKey].map(
        async (key) => [key, (await system.api('GET', `${API}/feature-flags/${key}`)).body.version as number] as const,
      ),
    );
    await waitFor(
      'every SDK at the final versions',
      async () => clients.every((o) => versions.every(([key, version]) => o.client.getFlag(key)?.version === version)),
      { timeoutMs: 15_000 },
    );
  });
});
