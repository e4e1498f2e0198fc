import { isDeepStrictEqual } from 'node:util';
import { jest } from '@jest/globals';
import { waitFor } from '#rollgate/testing';
import {
  RollgateSystem,
  expectError,
  historyUpTo,
  mapLimit,
  uniqueKey,
  type ApiResponse,
  type HistoryEntry,
} from './harness/index.js';
import { canaryUntil, definitionOf, sdkTraffic, sqlOn as sqlOnService, type FailureRates } from './harness/canary.js';
import { ENVIRONMENT, observedClient, type ObservedClient } from './harness/sdk.js';

jest.setTimeout(240_000);

/**
 * Issue 10 end to end, with the built flags, rollback, canary and gateway services as processes and SDK clients serving a
 * canary through withFeature(): a healthy gradual canary advances stage by stage and is promoted; a canary whose
 * cohort fails is rolled back automatically (through the rollback service's trigger and its end_canary
 * contract), every SDK serving the pre-canary flag (how soon: bench:canary-restore), the decision's evidence in
 * the canary's history and its cause in the flag's; kill -9 of the canary service mid-canary changes no flag twice
 * and monitoring goes on; bad input is a 4xx with a stable code and the log unchanged.
 */
let system: RollgateSystem;
const clients: ObservedClient[] = [];
const CLIENTS = 4;
const API = '/api/v1';

beforeAll(async () => {
  system = await RollgateSystem.start({
    services: ['flags', 'rollback', 'canary', 'gateway'],
    env: {
      flags: { ROLLGATE_FLAGS_AUDIT_POLL_MS: '50' },
      rollback: { ROLLGATE_ROLLBACK_SEED: 'false', ROLLGATE_ROLLBACK_POLL_MS: '50' },
      canary: {
        CANARY_MONITORING_INTERVAL: '1',
        ROLLGATE_CANARY_LOOK_MS: '200',
        ROLLGATE_CANARY_REFRESH_MS: '500',
        ROLLGATE_CANARY_ROLLBACK_GRACE_MS: '1500',
      },
    },
  });
}, 180_000);

afterAll(async () => {
  await mapLimit(clients, 10, (o) => o.client.close());
  await system?.stop();
});

/** SDK traffic on one flag from every client (harness/canary.ts). */
const traffic = (key: string, failure: FailureRates, seed: number) => sdkTraffic(clients, [{ key, failure }], seed);

const canaryOf = async (id: string) => (await system.api('GET', `${API}/canary-deployments/${id}`)).body;
const until = (what: string, id: string, check: (canary: Record<string, unknown>) => boolean, timeoutMs = 90_000) =>
  canaryUntil(system, what, id, check, timeoutMs);

async function createFlag(key: string, percentage = 0): Promise<Record<string, unknown>> {
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

/** The flag's history entries written by the canary, with their command ids. */
async function canaryChanges(key: string, version: number): Promise<HistoryEntry[]> {
  return (await historyUpTo(system, key, version)).filter((entry) => entry['actor'] === 'system:canary');
}

const sqlOn = (database: 'flags' | 'canary', text: string, params: unknown[] = []) =>
  sqlOnService(system, database, text, params);

describe('canary deployments end to end', () => {
  beforeAll(async () => {
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(
        await observedClient(system, `sdk-canary-${i}`, [], {
          outcomes: { enabled: true, windowMs: 500 },
          statusIntervalMs: 0,
        }),
      );
    }
  });

  it('promotes a healthy gradual canary after its stage plan, stage by stage', async () => {
    const key = uniqueKey('healthy');
    await createFlag(key);
    const created = await system.api('POST', `${API}/canary-deployments`, {
      feature_flag_id: key,
      name: 'healthy gradual',
      strategy: 'gradual',
      stages: [
        { percentage: 20, min_duration_minutes: 0.05 },
        { percentage: 40, min_duration_minutes: 0.05 },
      ],
      monitoring_duration_hours: 1,
      min_requests: 50,
      success_criteria: { max_error_rate: 0.3 },
      rollback_criteria: { max_error_rate: 0.5 },
      start: true,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      feature_flag_id: key,
      status: 'running',
      stage: 0,
      applied_steps: ['stage-0'],
    });
    const id = String(created.body.id);
    const load = traffic(key, { on: 0.1, off: 0.1 }, 1);
    const promoted = await until('the canary to be promoted', id, (c) => c['status'] === 'promoted').finally(() =>
      load.stop(),
    );
    expect(promoted).toMatchObject({
      certified: true,
      applied_steps: ['stage-0', 'stage-1', 'promote'],
      promotion: { automatic: true, override: false },
    });

    const history = (await system.api('GET', `${API}/canary-deployments/${id}/history`)).body.entries as Array<{
      type: string;
      data: Record<string, unknown>;
    }>;
    // A stage advances only once certified: the certificate comes first, then each stage, then the promotion.
    expect(history.map((e) => e.type).filter((type) => type !== 'CanaryWindowRecorded')).toEqual([
      'CanaryCreated',
      'CanaryStarted',
      'CanaryFlagChanged',
      'CanaryCertifiedSafe',
      'CanaryStageAdvanced',
      'CanaryFlagChanged',
      'CanaryPromotionRequested',
      'CanaryPromoted',
    ]);
    const flag = (await system.api('GET', `${API}/feature-flags/${key}`)).body;
    expect(flag.environments.production).toMatchObject({ enabled: true, default_rollout: { type: 'all_users' } });
    const changes = await canaryChanges(key, flag.version as number);
    expect(changes.map((e) => [e['command_id'], e.after?.environments.production?.default_rollout])).toEqual([
      [`canary:${id}:stage-0:production`, { type: 'percentage', ppm: 200_000 }],
      [`canary:${id}:stage-1:production`, { type: 'percentage', ppm: 400_000 }],
      [`canary:${id}:promote:production`, { type: 'all_users' }],
    ]);
    // Every SDK serves the promoted flag.
    await waitFor(
      'every client at the promoted version',
      async () => clients.every((o) => o.client.getFlag(key)?.version === flag.version),
      { timeoutMs: 10_000 },
    );
    expect(clients.every((o) => o.client.isEnabled(key, { userId: 'anyone' }))).toBe(true);
    const metrics = (await system.api('GET', `${API}/canary-deployments/${id}/metrics`)).body;
    expect(metrics).toMatchObject({ feature_flag_id: key, status: 'promoted', certified: true });
    expect(metrics.canary.requests).toBeGreaterThan(0);
    expect(metrics.canary.error_rate).toBeGreaterThan(0.03);
    expect(metrics.canary.error_rate).toBeLessThan(0.2);
    expect(
      metrics.tests.find((t: { metric: string; test: string }) => t.metric === 'errors' && t.test === 'safety').crossed,
    ).toBe(true);
  });

  it("rolls back a failing canary automatically through the rollback service's contract: every SDK serves the pre-canary flag", async () => {
    const key = uniqueKey('failing');
    const before = await createFlag(key, 5);
    const created = await system.api('POST', `${API}/canary-deployments`, {
      feature_flag_id: key,
      name: 'failing percentage',
      strategy: 'percentage',
      target_percentage: 20,
      monitoring_duration_hours: 1,
      start: true,
    });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    // Each client records when it applies each version of the flag.
    const applied = clients.map(() => new Map<number, number>());
    clients.forEach((o, i) =>
      o.client.onFlagChange(
        key,
        (change) => change.newVersion !== undefined && applied[i]!.set(change.newVersion, Date.now()),
      ),
    );
    const load = traffic(key, { on: 0.5, off: 0.02 }, 2);
    const rolledBack = await until('the canary to be rolled back', id, (c) => c['status'] === 'rolled_back').finally(
      () => load.stop(),
    );
    expect(rolledBack).toMatchObject({
      regression: { metric: 'errors', action: 'rollback' },
      rollback: { cause: 'regression', execution_id: expect.any(String) },
      applied_steps: ['stage-0', 'restore'],
    });
    // The real rollback service ran one automatic execution for the decision, and it ended the canary.
    const executions = (await system.api('GET', `${API}/rollbacks?target_id=${id}`)).body.rollbacks as Array<
      Record<string, unknown>
    >;
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({
      id: (rolledBack['rollback'] as { execution_id: string }).execution_id,
      type: 'automatic',
      scope: 'canary_deployment',
    });

    // The flag exactly as before the canary.
    const after = (await system.api('GET', `${API}/feature-flags/${key}`)).body;
    expect(definitionOf(after)).toEqual(definitionOf(before));
    const restoredVersion = after.version as number;
    await waitFor(
      'every SDK at the restored version',
      async () => clients.every((o) => o.client.getFlag(key)?.version === restoredVersion),
      { timeoutMs: 10_000 },
    );
    for (const o of clients) {
      expect(o.client.getFlag(key)?.environments[ENVIRONMENT]).toMatchObject({
        enabled: true,
        defaultRollout: { type: 'percentage', ppm: 50_000 },
      });
    }

    // Every SDK was told of the restore by its change stream, after the decision (how soon: bench:canary-restore).
    const history = (await system.api('GET', `${API}/canary-deployments/${id}/history`)).body.entries as Array<{
      type: string;
      recorded_at: string;
      data: Record<string, unknown>;
    }>;
    const decision = history.find((e) => e.type === 'CanaryRegressionDetected')!;
    const decidedAt = Date.parse(decision.recorded_at);
    const lags = applied.map((versions) => versions.get(restoredVersion)! - decidedAt);
    console.log(
      `canary e2e: decision → pre-canary flag in ${CLIENTS} SDKs: ${lags.map((ms) => `${ms} ms`).join(', ')}`,
    );
    expect(lags.every((ms) => ms >= 0)).toBe(true);
    // The decision's evidence: counts per cohort, each test's statistic and level, the window.
    const evidence = decision.data['evidence'] as {
      tests: Array<Record<string, unknown>>;
      canary: Record<string, number>;
      baseline: Record<string, number>;
      last_window: unknown;
    };
    const test = evidence.tests.find((t) => t['metric'] === 'errors' && t['test'] === 'regression')!;
    expect(test['log_e'] as number).toBeGreaterThanOrEqual(test['threshold'] as number);
    expect(evidence.canary.error_units).toBeGreaterThan(evidence.canary.requests * 0.3);
    expect(evidence.last_window).toEqual({ start: expect.any(String), end: expect.any(String) });
    // The flag's audit names the canary, the decision and the restore.
    const restore = (await canaryChanges(key, restoredVersion)).at(-1)!;
    expect(restore).toMatchObject({
      command_id: `canary:${id}:restore:production`,
      reason: expect.stringContaining(`decision ${id}:regression`),
    });
  });

  it('survives kill -9 of the canary service mid-canary: no flag change applied twice, monitoring goes on to promotion', async () => {
    const key = uniqueKey('crash');
    await createFlag(key);
    const created = await system.api('POST', `${API}/canary-deployments`, {
      feature_flag_id: key,
      name: 'crash test',
      strategy: 'gradual',
      stages: [
        { percentage: 20, min_duration_minutes: 0.05 },
        { percentage: 35, min_duration_minutes: 0.05 },
        { percentage: 50, min_duration_minutes: 0.05 },
      ],
      monitoring_duration_hours: 1,
      min_requests: 50,
      start: true,
    });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    const load = traffic(key, { on: 0.1, off: 0.1 }, 3);
    try {
      await until('the second stage', id, (c) => (c['stage'] as number) >= 1, 90_000);
      await system.kill('canary');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await system.restart('canary');
      await until('the third stage', id, (c) => (c['stage'] as number) >= 2, 90_000);
      await system.kill('canary');
      await system.restart('canary');
      await until('the canary to be promoted', id, (c) => c['status'] === 'promoted', 120_000);
    } finally {
      await load.stop();
    }
    const flag = (await system.api('GET', `${API}/feature-flags/${key}`)).body;
    const changes = await canaryChanges(key, flag.version as number);
    expect(changes.map((e) => e['command_id'])).toEqual([
      `canary:${id}:stage-0:production`,
      `canary:${id}:stage-1:production`,
      `canary:${id}:stage-2:production`,
      `canary:${id}:promote:production`,
    ]);
    // The canary's own log: each step recorded once, one promotion.
    const events = await sqlOn(
      'canary',
      'SELECT event_type, data FROM es.events WHERE stream_id = $1 ORDER BY stream_version',
      [`canary-${id}`],
    );
    const steps = events
      .filter((e) => e['event_type'] === 'CanaryFlagChanged')
      .map((e) => (e['data'] as { step: string }).step);
    expect(steps).toEqual(['stage-0', 'stage-1', 'stage-2']);
    expect(events.filter((e) => e['event_type'] === 'CanaryPromoted')).toHaveLength(1);
    expect(events.filter((e) => e['event_type'] === 'CanaryStageAdvanced')).toHaveLength(2);
  });

  it('pauses a running canary over HTTP: failing traffic meanwhile decides nothing; resumed, the judge rolls it back; bad pauses and resumes are 409s', async () => {
    const key = uniqueKey('paused');
    const before = await createFlag(key, 5);
    const created = await system.api('POST', `${API}/canary-deployments`, {
      feature_flag_id: key,
      name: 'paused percentage',
      strategy: 'percentage',
      target_percentage: 20,
      monitoring_duration_hours: 1,
      start: true,
    });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    const paused = await system.api('POST', `${API}/canary-deployments/${id}/pause`, {
      paused_by: 'oncall',
      reason: 'payments incident',
    });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({
      status: 'paused',
      hold: { by: 'oncall', reason: 'payments incident' },
      applied_steps: ['stage-0'],
    });
    const count = async () =>
      Number(
        (await sqlOn('canary', 'SELECT count(*)::int AS n FROM es.events WHERE stream_id = $1', [`canary-${id}`]))[0]![
          'n'
        ],
      );
    const heldAt = await count();
    expectError(await system.api('POST', `${API}/canary-deployments/${id}/pause`, {}), 409, 'CANARY.INVALID_STATE');

    // A cohort failing half its requests for 4 s: rolled back in about a second when judged, here nothing happens.
    const load = traffic(key, { on: 0.5, off: 0.02 }, 4);
    try {
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const held = await canaryOf(id);
      expect(held).toMatchObject({ status: 'paused', applied_steps: ['stage-0'], totals: { windows: 0 } });
      expect(await count()).toBe(heldAt);
      expect((await system.api('GET', `${API}/feature-flags/${key}`)).body.environments.production).toMatchObject({
        default_rollout: { type: 'percentage', ppm: 200_000 },
      });

      const resumed = await system.api('POST', `${API}/canary-deployments/${id}/resume`, { resumed_by: 'oncall' });
      expect(resumed.status).toBe(200);
      expect(resumed.body).toMatchObject({ status: 'running', paused_ms: expect.any(Number) });
      expect(resumed.body.hold).toBeUndefined();
      expectError(await system.api('POST', `${API}/canary-deployments/${id}/resume`, {}), 409, 'CANARY.INVALID_STATE');
      await until('the resumed canary rolled back', id, (c) => c['status'] === 'rolled_back');
    } finally {
      await load.stop();
    }
    expect(definitionOf((await system.api('GET', `${API}/feature-flags/${key}`)).body)).toEqual(definitionOf(before));
    const ended = await count();
    expectError(await system.api('POST', `${API}/canary-deployments/${id}/pause`, {}), 409, 'CANARY.INVALID_STATE');
    expectError(await system.api('POST', `${API}/canary-deployments/${id}/resume`, {}), 409, 'CANARY.INVALID_STATE');
    expectError(await system.api('POST', `${API}/canary-deployments/nope/pause`, {}), 404, 'CANARY.NOT_FOUND');
    expectError(
      await system.api('POST', `${API}/canary-deployments/${id}/pause`, { paused_by: 7 }),
      400,
      'GENERIC.VALIDATION',
      'paused_by',
    );
    expect(await count()).toBe(ended);
    const history = (await system.api('GET', `${API}/canary-deployments/${id}/history`)).body.entries as Array<{
      type: string;
    }>;
    expect(
      history
        .map((e) => e.type)
        .filter((type) => type !== 'CanaryWindowRecorded')
        .slice(0, 6),
    ).toEqual([
      'CanaryCreated',
      'CanaryStarted',
      'CanaryFlagChanged',
      'CanaryPaused',
      'CanaryResumed',
      'CanaryRegressionDetected',
    ]);
  });

  it("starts a meaningful canary on the seed's default canary flags, and an operator's rollback restores the seed's flag", async () => {
    for (const key of ['canary_auto_submit', 'canary_smart_prompts']) {
      const before = (await system.api('GET', `${API}/feature-flags/${key}`)).body;
      expect(before.environments.production).toMatchObject({ enabled: false });
      const started = await system.api('POST', `${API}/feature-flags/${key}/canary`, {
        canary_percentage: 5,
        monitoring_duration_hours: 2,
      });
      expect(started.status).toBe(201);
      expect(started.body).toMatchObject({
        feature_flag_id: key,
        strategy: 'percentage',
        status: 'running',
        stages: [{ percentage: 5, min_duration_minutes: 120 }],
      });
      const during = (await system.api('GET', `${API}/feature-flags/${key}`)).body;
      expect(during.environments.production).toMatchObject({
        enabled: true,
        default_rollout: { type: 'percentage', ppm: 50_000 },
      });
      expect(during.environments.staging).toEqual(before.environments.staging);
      const rolledBack = await system.api('POST', `${API}/canary-deployments/${started.body.id}/rollback`, {
        rolled_back_by: 'oncall',
        reason: 'not today',
      });
      expect(rolledBack.status).toBe(200);
      expect(rolledBack.body).toMatchObject({
        status: 'rolled_back',
        rollback: { cause: 'manual', by: 'oncall', reason: 'not today' },
      });
      expect(definitionOf((await system.api('GET', `${API}/feature-flags/${key}`)).body)).toEqual(definitionOf(before));
    }
  });

  it('refuses bad input with a 4xx and a stable code, the logs unchanged', async () => {
    const key = uniqueKey('bad');
    await createFlag(key);
    const count = async () => [
      Number((await sqlOn('flags', 'SELECT count(*)::int AS n FROM es.events'))[0]!['n']),
      Number((await sqlOn('canary', 'SELECT count(*)::int AS n FROM es.events'))[0]!['n']),
    ];
    const before = await count();
    const create = (body: Record<string, unknown>): Promise<ApiResponse> =>
      system.api('POST', `${API}/canary-deployments`, {
        feature_flag_id: key,
        name: 'bad',
        strategy: 'percentage',
        ...body,
      });
    expectError(await create({ target_percentage: 60 }), 400, 'GENERIC.VALIDATION', 'target_percentage');
    expectError(await create({ target_percentage: 0 }), 400, 'GENERIC.VALIDATION', 'target_percentage');
    expectError(
      await create({ monitoring_duration_hours: 0.5 }),
      400,
      'GENERIC.VALIDATION',
      'monitoring_duration_hours',
    );
    expectError(
      await create({ monitoring_duration_hours: 169 }),
      400,
      'GENERIC.VALIDATION',
      'monitoring_duration_hours',
    );
    expectError(
      await create({ success_criteria: { p99_ms: 3 } }),
      400,
      'GENERIC.VALIDATION',
      'success_criteria.p99_ms',
    );
    expectError(
      await create({ rollback_criteria: { max_error_rate: 2 } }),
      400,
      'GENERIC.VALIDATION',
      'rollback_criteria.max_error_rate',
    );
    expectError(
      await create({ success_criteria: { max_error_rate: 0.2 }, rollback_criteria: { max_error_rate: 0.1 } }),
      400,
      'GENERIC.VALIDATION',
      'rollback_criteria',
    );
    expectError(await create({ strategy: 'blue_green' }), 400, 'GENERIC.VALIDATION', 'strategy');
    expectError(await create({ feature_flag_id: 'no_such_flag_here' }), 404, 'CANARY.FLAG_NOT_FOUND');
    expectError(
      await system.api('POST', `${API}/feature-flags/${key}/canary`, { canary_percentage: 75 }),
      400,
      'GENERIC.VALIDATION',
      'canary_percentage',
    );
    expectError(await system.api('POST', `${API}/canary-deployments/nope/start`, {}), 404, 'CANARY.NOT_FOUND');
    expect(await count()).toEqual(before);

    // An archived flag, and a second canary on a flag that has one.
    const archived = uniqueKey('archived');
    await createFlag(archived);
    expect((await system.api('DELETE', `${API}/feature-flags/${archived}`)).status).toBe(204);
    const archivedAt = await count();
    expectError(await create({ feature_flag_id: archived }), 409, 'CANARY.FLAG_ARCHIVED');
    expect(await count()).toEqual(archivedAt);
    const first = await system.api('POST', `${API}/feature-flags/${key}/canary`, {
      canary_percentage: 10,
      monitoring_duration_hours: 1,
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      feature_flag_id: key,
      strategy: 'percentage',
      target_percentage: 10,
      status: 'running',
    });
    const middle = await count();
    expectError(await create({}), 409, 'CANARY.ACTIVE_CANARY_EXISTS');
    expectError(await system.api('POST', `${API}/feature-flags/${key}/promote`, {}), 409, 'CANARY.PROMOTION_CONFLICT');
    expect(await count()).toEqual(middle);
    // The operator's override is recorded.
    const promoted = await system.api('POST', `${API}/feature-flags/${key}/promote`, {
      promoted_by: 'release-manager',
      override: true,
      reason: 'hotfix',
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({
      status: 'promoted',
      promotion: { by: 'release-manager', override: true, automatic: false, reason: 'hotfix' },
    });
    expect(
      isDeepStrictEqual(
        (await system.api('GET', `${API}/feature-flags/${key}`)).body.environments.production.default_rollout,
        { type: 'all_users' },
      ),
    ).toBe(true);
  });
});
