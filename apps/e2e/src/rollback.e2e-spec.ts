import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { BusClient, FakeKubernetes, finishedRollback, mapLimit, RollgateSystem, uniqueKey, WebhookReceiver } from './harness/index.js';
import { waitFor } from '#rollgate/testing';

jest.setTimeout(240_000);

const SECRET = 'e2e-webhook-secret-0123456789';
let system: RollgateSystem;
let bus: BusClient;
let hooks: WebhookReceiver;
let kube: FakeKubernetes;

const ENVIRONMENTS = ['production', 'staging'];

async function createFlag(key: string, options: { enabled?: boolean; rules?: unknown[] } = {}): Promise<void> {
  const environments = Object.fromEntries(
    ENVIRONMENTS.map((env) => [env, { enabled: options.enabled ?? true, default_rollout: { type: 'percentage', ppm: 500_000 }, rules: options.rules ?? [] }]),
  );
  const response = await system.api('POST', '/api/v1/feature-flags', { flag: { key, name: key, type: 'boolean', environments } });
  if (response.status !== 201) throw new Error(`create ${key}: ${response.status} ${JSON.stringify(response.body)}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const flag = async (key: string): Promise<any> => (await system.api('GET', `/api/v1/feature-flags/${key}`)).body;
const enabledIn = async (key: string): Promise<Record<string, boolean>> => {
  const body = await flag(key);
  return Object.fromEntries(Object.entries(body.environments as Record<string, { enabled: boolean }>).map(([env, config]) => [env, config.enabled]));
};

async function createPlan(body: Record<string, unknown>): Promise<string> {
  const response = await system.api('POST', '/api/v1/rollbacks/plans', { rollback_type: 'manual', name: 'plan', ...body });
  if (response.status !== 201) throw new Error(`plan: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.id as string;
}

async function execute(planId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await system.api('POST', '/api/v1/rollbacks/execute', { plan_id: planId, executed_by: 'oncall', reason: 'e2e', ...extra });
  if (response.status !== 202) throw new Error(`execute: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.execution_id as string;
}

async function emergency(scope: string, targetId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await system.api('POST', '/api/v1/rollbacks/emergency', { scope, target_id: targetId, executed_by: 'oncall', reason: 'e2e emergency', ...extra });
  if (response.status !== 202) throw new Error(`emergency: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.execution_id as string;
}

const rollbackEvents = async (executionId: string): Promise<string[]> =>
  (await system.sql<{ event_type: string }>('SELECT event_type FROM es.events WHERE stream_id = $1 ORDER BY stream_version', [`rollback-${executionId}`], 'rollback')).map((r) => r.event_type);

/**
 * An execution's audit entries once they include its end: the audit reads the log in its gap-free order, which
 * an open transaction anywhere on the shared PostgreSQL can hold back for a moment.
 */
const rollbackAudit = (id: string): Promise<Array<Record<string, unknown>>> =>
  waitFor(`the audit of ${id} up to its end`, async () => {
    const response = await system.api('GET', `/api/v1/audit?source=rollback&key=${id}`);
    expect(response.status).toBe(200);
    const entries = response.body.entries as Array<Record<string, unknown>>;
    return entries.some((e) => /^Execution(Succeeded|Failed|Cancelled|Preempted)$/.test(String(e.event_type))) ? entries : undefined;
  });

beforeAll(async () => {
  hooks = await WebhookReceiver.start(SECRET);
  kube = await FakeKubernetes.start();
  system = await RollgateSystem.start({
    services: ['flags', 'rollback', 'gateway'],
    env: {
      flags: { ROLLGATE_FLAGS_SEED: 'false', ROLLGATE_FLAGS_SDK_STATUS_INTERVAL_MS: '200' },
      rollback: {
        ROLLGATE_ROLLBACK_WEBHOOK_SECRET: SECRET,
        ROLLGATE_ROLLBACK_KUBE_API_URL: kube.url,
        ROLLGATE_ROLLBACK_KUBE_INSECURE: 'true',
        ROLLGATE_ROLLBACK_SDK_STATUS_INTERVAL_MS: '200',
        ROLLGATE_ROLLBACK_CONSISTENCY_WAIT_MS: '2000',
        ROLLGATE_ROLLBACK_POLL_MS: '50',
        ROLLBACK_CHECK_INTERVAL: '1',
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

describe('rollbacks end to end (flags, rollback and gateway as processes)', () => {
  it('seeds the default plan and runs it: the seed flag off, verified, audited', async () => {
    await createFlag('auto_submit_enabled');
    const plan = await system.api('GET', '/api/v1/rollbacks/plans/emergency_auto_submit');
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ id: 'emergency_auto_submit', rollback_type: 'emergency', scope: 'feature_flag', target_id: 'auto_submit_enabled', rollback_steps: [{ type: 'disable_feature_flag', config: { flag_id: 'auto_submit_enabled' } }] });
    const id = await execute('emergency_auto_submit');
    const done = await finishedRollback(system, id);
    expect(done).toMatchObject({ status: 'succeeded', type: 'emergency', cause: { kind: 'emergency', actor: 'admin', reason: 'e2e', executed_by: 'oncall' }, consistency: { verified: true } });
    expect(await enabledIn('auto_submit_enabled')).toEqual({ production: false, staging: false });
    const audit = await rollbackAudit(id);
    expect(audit.map((e) => e.event_type)).toEqual(expect.arrayContaining(['ExecutionRequested', 'ExecutionStarted', 'StepSucceeded', 'ConsistencyVerified', 'ExecutionSucceeded']));
    expect(audit[0]).toMatchObject({ actor: 'admin', reason: 'e2e' });
    // The flag's own audit trail carries the rollback: its actor, its reason, the execution as correlation id.
    const trail = await waitFor('flag audit entry', async () => {
      const entries = (await system.api('GET', '/api/v1/audit?key=auto_submit_enabled')).body.entries as Array<Record<string, unknown>>;
      return entries.find((e) => e.correlation_id === id);
    });
    expect(trail).toMatchObject({ actor: 'admin', event_type: 'FlagToggled' });
    expect(String(trail.reason)).toContain(`rollback ${id}`);
  });

  it('manual feature_flag plan with every side-effect kind: flags, propagation wait, webhook, Kubernetes restart and scale', async () => {
    const key = uniqueKey('manual');
    await createFlag(key);
    kube.add('default', 'checkout');
    kube.add('payments', 'worker', 4);
    const planId = await createPlan({
      scope: 'feature_flag',
      target_id: key,
      rollback_steps: [
        { type: 'set_rollout', config: { flag_id: key, percentage: 5 } },
        { type: 'disable_feature_flag', config: { flag_id: key, environments: ['production'] } },
        { type: 'call_webhook', config: { url: `${hooks.url}/manual`, payload: { ticket: 'INC-1' } } },
        { type: 'restart_service', config: { service_name: 'checkout' } },
        { type: 'scale_service', config: { service_name: 'worker', namespace: 'payments', replicas: 1 } },
      ],
    });
    const id = await execute(planId);
    const done = await finishedRollback(system, id);
    expect({ status: done.status, error: done.error }).toEqual({ status: 'succeeded', error: undefined });
    // Traffic first, capacity second: the service inserted the propagation wait before the first Kubernetes step.
    expect(done.steps.map((s: { type: string; inserted?: boolean }) => `${s.type}${s.inserted ? '*' : ''}`)).toEqual([
      'set_rollout', 'disable_feature_flag', 'call_webhook', 'wait_for_propagation*', 'restart_service', 'scale_service',
    ]);
    expect(done.consistency).toMatchObject({ verified: true, flags: 1 });
    const now = await flag(key);
    expect(now.environments.production).toMatchObject({ enabled: false, default_rollout: { type: 'percentage', ppm: 50_000 } });
    expect(now.environments.staging).toMatchObject({ enabled: true, default_rollout: { type: 'percentage', ppm: 50_000 } });
    const delivered = hooks.deliveries.filter((d) => d.path === '/manual');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ key: `rb-${id}-2`, signatureValid: true, body: { executionId: id, payload: { ticket: 'INC-1' } } });
    expect(kube.rollouts.get('default/checkout')).toHaveLength(1);
    expect(kube.deployments.get('payments/worker')?.replicas).toBe(1);
    expect(kube.patches.every((p) => p.contentType === 'application/merge-patch+json')).toBe(true);
  });

  it('emergency per scope: environment (kill switch), system_wide (restore to a time), user_group (segment rules removed)', async () => {
    const [a, b] = [uniqueKey('env_a'), uniqueKey('env_b')];
    await createFlag(a);
    await createFlag(b);
    const envId = await emergency('environment', 'staging');
    expect(await finishedRollback(system, envId)).toMatchObject({ status: 'succeeded', scope: 'environment', consistency: { verified: true } });
    expect([await enabledIn(a), await enabledIn(b)]).toEqual([{ production: true, staging: false }, { production: true, staging: false }]);

    const asOf = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await system.api('PUT', `/api/v1/feature-flags/${a}/environments/production/rollout`, { rollout_strategy: 'percentage', rollout_percentage: 90 });
    await system.api('PUT', `/api/v1/feature-flags/${b}/environments/staging`, { enabled: true });
    const systemId = await emergency('system_wide', 'system', { as_of: asOf });
    expect(await finishedRollback(system, systemId)).toMatchObject({ status: 'succeeded', consistency: { verified: true } });
    for (const key of [a, b]) {
      const then = (await system.api('GET', `/api/v1/feature-flags/${key}?as_of=${asOf}`)).body;
      expect((await flag(key)).environments).toEqual(then.environments);
    }

    const segment = uniqueKey('beta');
    expect((await system.api('PUT', `/api/v1/segments/${segment}`, { conditions: [{ attribute: 'plan', operator: 'equals', values: ['beta'] }] })).status).toBe(200);
    const c = uniqueKey('grp');
    await createFlag(c, { rules: [{ id: 'beta-first', segments: [segment], rollout: { type: 'all_users' } }, { id: 'other', conditions: [{ attribute: 'country', operator: 'equals', values: ['NZ'] }] }] });
    const groupId = await emergency('user_group', segment);
    expect(await finishedRollback(system, groupId)).toMatchObject({ status: 'succeeded', scope: 'user_group', consistency: { verified: true } });
    expect((await flag(c)).environments.production.rules.map((r: { id: string }) => r.id)).toEqual(['other']);
  });

  it('canary_deployment scope: the canary flag off by plan; end_canary fails clearly with ROLLBACK.CANARY_UNAVAILABLE', async () => {
    const canaryFlag = uniqueKey('canary');
    await createFlag(canaryFlag);
    const planId = await createPlan({ scope: 'canary_deployment', target_id: 'canary-1', rollback_steps: [{ type: 'disable_feature_flag', config: { flag_id: canaryFlag } }] });
    expect(await finishedRollback(system, await execute(planId))).toMatchObject({ status: 'succeeded', scope: 'canary_deployment', consistency: { verified: true } });
    expect(await enabledIn(canaryFlag)).toEqual({ production: false, staging: false });
    const failed = await finishedRollback(system, await emergency('canary_deployment', 'canary-2'));
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'ROLLBACK.CANARY_UNAVAILABLE' }, steps: [{ type: 'end_canary', status: 'failed', attempts: 5 }] });
  });

  it('automatic: a canary regression decision (bus trigger, once per decision) and the criteria watcher on flag outcomes', async () => {
    const canaryFlag = uniqueKey('auto_canary');
    await createFlag(canaryFlag);
    await createPlan({ rollback_type: 'automatic', scope: 'canary_deployment', target_id: 'canary-auto', rollback_steps: [{ type: 'disable_feature_flag', config: { flag_id: canaryFlag } }] });
    const trigger = { source: 'canary_decision', canaryId: 'canary-auto', decisionId: randomUUID(), decision: 'regression', evidence: { statistic: 9.1 } };
    const first = await bus.request<{ id: string }>('rg.cmd.rollback.trigger', { commandId: randomUUID(), actor: 'canary-service', reason: 'regression', payload: trigger });
    const again = await bus.request<{ id: string }>('rg.cmd.rollback.trigger', { commandId: randomUUID(), actor: 'canary-service', reason: 'regression', payload: trigger });
    expect(first.ok && again.ok && first.result.id === again.result.id).toBe(true);
    const done = await finishedRollback(system, (first as { result: { id: string } }).result.id);
    expect(done).toMatchObject({ status: 'succeeded', type: 'automatic', cause: { kind: 'canary_decision', decision_id: trigger.decisionId } });

    const watched = uniqueKey('watched');
    await createFlag(watched);
    await createPlan({ rollback_type: 'automatic', scope: 'feature_flag', target_id: watched, rollback_steps: [{ type: 'disable_feature_flag', config: { flag_id: watched } }], rollback_criteria: { max_error_rate: 0.1, min_requests: 50, window_minutes: 5 } });
    const windowStart = new Date(Date.now() - 30_000).toISOString();
    const cohort = { variant: 'on', exposures: 200, requests: 200, errors: 60, errorUnits: 40, errorUnitsCapped: false, latencyBuckets: [200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], latencySumMs: 800 };
    // Outcome batches come from SDK clients, so they are sent as the sdk NATS user.
    const sdk = await BusClient.connect(system.nats, 'sdk');
    await sdk.publish(`rg.obs.production.${watched}`, JSON.stringify({ schema: 1, batchId: randomUUID(), clientId: 'svc-1', environment: 'production', flagKey: watched, windowStart, windowMs: 10_000, cohorts: [cohort], droppedWindows: 0 }));
    await sdk.close();
    const triggered = await waitFor('criteria watcher triggered', async () => {
      const list = (await system.api('GET', `/api/v1/rollbacks?target_id=${watched}`)).body.rollbacks as Array<{ id: string; cause: { kind: string } }>;
      return list.find((r) => r.cause.kind === 'criteria');
    }, { timeoutMs: 20_000, intervalMs: 200 });
    const auto = await finishedRollback(system, triggered.id);
    expect(auto).toMatchObject({ status: 'succeeded', type: 'automatic', cause: { kind: 'criteria', evidence: { verdict: 'breach', requests: 200, errors: 60 } } });
    expect(await enabledIn(watched)).toEqual({ production: false, staging: false });
  });

  it('scheduled: fires once at its time; cancel of a scheduled one never fires', async () => {
    const key = uniqueKey('sched');
    await createFlag(key);
    const planId = await createPlan({ rollback_type: 'scheduled', scope: 'feature_flag', target_id: key, rollback_steps: [{ type: 'disable_feature_flag', config: { flag_id: key } }] });
    const missing = await system.api('POST', '/api/v1/rollbacks/execute', { plan_id: planId });
    expect(missing).toMatchObject({ status: 400, body: { code: 'GENERIC.VALIDATION' } });
    const at = new Date(Date.now() + 1_500).toISOString();
    const id = await execute(planId, { scheduled_at: at });
    expect((await system.api('GET', `/api/v1/rollbacks/${id}/status`)).body).toMatchObject({ status: 'scheduled', scheduled_for: at });
    const done = await finishedRollback(system, id);
    expect(done.status).toBe('succeeded');
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(at));
    expect((await rollbackEvents(id)).filter((t) => t === 'ExecutionStarted')).toHaveLength(1);

    const later = await execute(planId, { scheduled_at: new Date(Date.now() + 60_000).toISOString() });
    const cancelled = await system.api('POST', `/api/v1/rollbacks/${later}/cancel`, { reason: 'not needed' });
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled', steps_ran: [], steps_not_run: [0] } });
  });

  it('scheduled across a kill -9 and restart of the rollback service: the durable timer fires once, at its time', async () => {
    const key = uniqueKey('sched_restart');
    await createFlag(key);
    const planId = await createPlan({ rollback_type: 'scheduled', scope: 'feature_flag', target_id: key, rollback_steps: [{ type: 'disable_feature_flag', config: { flag_id: key } }] });
    const at = new Date(Date.now() + 4_000).toISOString();
    const id = await execute(planId, { scheduled_at: at });
    await system.kill('rollback');
    await system.restart('rollback');
    expect((await system.api('GET', `/api/v1/rollbacks/${id}/status`)).body.status).toBe('scheduled');
    const done = await finishedRollback(system, id);
    expect(done.status).toBe('succeeded');
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(at));
    const events = await rollbackEvents(id);
    expect(events.filter((t) => t === 'ExecutionStarted')).toHaveLength(1);
    expect(events.filter((t) => t === 'StepSucceeded')).toHaveLength(1);
    expect(await enabledIn(key)).toEqual({ production: false, staging: false });
  });

  it('emergency preempts a slow plan between steps; both are audited', async () => {
    const key = uniqueKey('slow');
    await createFlag(key);
    hooks.delayMs.set('/slow', 1_500);
    const planId = await createPlan({
      scope: 'feature_flag',
      target_id: key,
      rollback_steps: [
        { type: 'call_webhook', config: { url: `${hooks.url}/slow`, timeout_ms: 10_000 } },
        { type: 'set_rollout', config: { flag_id: key, percentage: 25 } },
        { type: 'call_webhook', config: { url: `${hooks.url}/slow`, timeout_ms: 10_000 } },
      ],
    });
    const slow = await execute(planId);
    await waitFor('slow plan in its first step', async () => (await system.api('GET', `/api/v1/rollbacks/${slow}/status`)).body.steps[0].status === 'running');
    const busy = await system.api('POST', '/api/v1/rollbacks/execute', { plan_id: planId });
    expect(busy).toMatchObject({ status: 409, body: { code: 'ROLLBACK.TARGET_IN_USE', details: { executionId: slow } } });
    const urgent = await emergency('feature_flag', key);
    const done = await finishedRollback(system, urgent);
    expect(done).toMatchObject({ status: 'succeeded', preempts: slow, consistency: { verified: true } });
    const stopped = await finishedRollback(system, slow);
    expect(stopped).toMatchObject({ status: 'preempted', preempted_by: urgent });
    // It stopped between steps: the webhook in flight finished, the rollout change after it never ran.
    expect(stopped.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'pending', 'pending']);
    expect((await flag(key)).environments.production).toMatchObject({ enabled: false, default_rollout: { ppm: 500_000 } });
    expect((await rollbackAudit(slow)).map((e) => e.event_type)).toContain('ExecutionPreempted');
    expect((await rollbackAudit(urgent)).map((e) => e.event_type)).toContain('ExecutionSucceeded');
  });

  it('cancel between steps: completed steps recorded, no further step runs', async () => {
    const key = uniqueKey('cancel');
    await createFlag(key);
    hooks.delayMs.set('/cancel', 1_000);
    const planId = await createPlan({
      scope: 'feature_flag',
      target_id: key,
      rollback_steps: [
        { type: 'set_rollout', config: { flag_id: key, percentage: 10 } },
        { type: 'call_webhook', config: { url: `${hooks.url}/cancel` } },
        { type: 'disable_feature_flag', config: { flag_id: key } },
        { type: 'call_webhook', config: { url: `${hooks.url}/cancel-after` } },
      ],
    });
    const id = await execute(planId);
    await waitFor('webhook step running', async () => (await system.api('GET', `/api/v1/rollbacks/${id}/status`)).body.steps[1].status === 'running');
    const cancelled = await system.api('POST', `/api/v1/rollbacks/${id}/cancel`, { reason: 'wrong plan' });
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled', steps_ran: [0, 1], steps_not_run: [2, 3], cancel_requested: { reason: 'wrong plan' } } });
    expect((await flag(key)).environments.production).toMatchObject({ enabled: true, default_rollout: { ppm: 100_000 } });
    expect(hooks.deliveries.filter((d) => d.path === '/cancel-after')).toHaveLength(0);
    const again = await system.api('POST', `/api/v1/rollbacks/${id}/cancel`, {});
    expect(again).toMatchObject({ status: 409, body: { code: 'ROLLBACK.INVALID_STATE' } });
  });

  it('restores an environment of 1 000 flags to a point in time: every flag equals its as-of state', async () => {
    const keys = Array.from({ length: 1_000 }, (_, i) => `bulk_${i}`);
    await mapLimit(keys, 16, async (key) => {
      const reply = await bus.request('rg.cmd.flags.create', {
        commandId: randomUUID(),
        actor: 'setup',
        payload: { flag: { key, name: key, type: 'boolean', environments: { qa: { enabled: true, defaultRollout: { type: 'percentage', ppm: 300_000 } } } } },
      });
      if (!reply.ok) throw new Error(JSON.stringify(reply.error));
    });
    const asOf = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await mapLimit(keys, 16, async (key, i) => {
      const reply = await bus.request('rg.cmd.flags.change-rollout', { commandId: randomUUID(), actor: 'setup', payload: { key, environment: 'qa', rollout: { type: 'percentage', ppm: 900_000 } } });
      if (!reply.ok) throw new Error(JSON.stringify(reply.error));
      if (i % 2 === 0) await bus.request('rg.cmd.flags.toggle', { commandId: randomUUID(), actor: 'setup', payload: { key, environment: 'qa', enabled: false } });
    });
    const started = Date.now();
    const id = await emergency('environment', 'qa', { as_of: asOf });
    const done = await finishedRollback(system, id, 60_000);
    const elapsed = Date.now() - started;
    expect(done).toMatchObject({ status: 'succeeded', consistency: { verified: true, flags: 1_000 } });
    const restore = done.steps[0];
    const planning = Date.parse(restore.started_at) - Date.parse(done.started_at);
    console.log(`restore of 1 000 flags: planning (as-of reads) ${planning} ms, commands ${restore.duration_ms} ms, request to finished ${elapsed} ms`);
    const mismatches = await mapLimit(keys, 16, async (key) => {
      const [now, then] = await Promise.all([
        bus.request<{ flag: { environments: Record<string, unknown> } }>('rg.qry.flags.get', { key }),
        bus.request<{ flag: { environments: Record<string, unknown> } }>('rg.qry.flags.get', { key, asOf }),
      ]);
      const nowQa = now.ok ? now.result.flag.environments['qa'] : null;
      const thenQa = then.ok ? then.result.flag.environments['qa'] : null;
      const evalNow = await bus.request<{ value: unknown }>('rg.qry.flags.evaluate', { key, environment: 'qa', context: { userId: 'u-42' } });
      const evalThen = await bus.request<{ value: unknown }>('rg.qry.flags.evaluate', { key, environment: 'qa', context: { userId: 'u-42' }, asOf });
      const same = JSON.stringify(nowQa) === JSON.stringify(thenQa) && JSON.stringify(evalNow.ok && evalNow.result.value) === JSON.stringify(evalThen.ok && evalThen.result.value);
      return same ? null : key;
    });
    expect(mismatches.filter((k) => k !== null)).toEqual([]);
  });

  it('bad input over HTTP and the bus: stable codes, 4xx, the log unchanged', async () => {
    const key = uniqueKey('bad');
    await createFlag(key);
    const before = (await system.sql<{ n: number }>('SELECT count(*)::int AS n FROM es.events', [], 'rollback'))[0]!.n;
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/api/v1/rollbacks/execute', { plan_id: 'no_such_plan' }, 404, 'ROLLBACK.PLAN_NOT_FOUND'],
      ['POST', '/api/v1/rollbacks/emergency', { scope: 'feature_flag', target_id: 'no_such_flag' }, 404, 'ROLLBACK.TARGET_NOT_FOUND'],
      ['POST', '/api/v1/rollbacks/emergency', { scope: 'environment', target_id: key }, 400, 'GENERIC.VALIDATION'],
      ['POST', '/api/v1/rollbacks/emergency', { scope: 'system_wide', target_id: 'everything' }, 400, 'GENERIC.VALIDATION'],
      ['POST', '/api/v1/rollbacks/emergency', { scope: 'galaxy', target_id: key }, 400, 'GENERIC.VALIDATION'],
      ['GET', '/api/v1/rollbacks/00000000-0000-0000-0000-000000000000/status', undefined, 404, 'ROLLBACK.EXECUTION_NOT_FOUND'],
      ['POST', '/api/v1/rollbacks/00000000-0000-0000-0000-000000000000/cancel', {}, 404, 'ROLLBACK.EXECUTION_NOT_FOUND'],
      ['POST', '/api/v1/rollbacks/plans', { name: 'x', rollback_type: 'manual', scope: 'feature_flag', target_id: key, rollback_steps: [{ type: 'explode', config: {} }] }, 400, 'GENERIC.VALIDATION'],
      ['POST', '/api/v1/rollbacks/plans', { name: 'x', rollback_type: 'manual', scope: 'feature_flag', target_id: key, rollback_steps: [{ type: 'disable_feature_flag', config: { flag_idd: key } }] }, 400, 'GENERIC.VALIDATION'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const response = await system.api(method, path, body);
      expect({ path, status: response.status, code: response.body?.code }).toEqual({ path, status, code });
    }
    const plan = await system.api('POST', '/api/v1/rollbacks/plans', { name: 'x', rollback_type: 'manual', scope: 'feature_flag', target_id: key, rollback_steps: [{ type: 'disable_feature_flag', config: { flag_idd: key } }] });
    expect(plan.body.details.problems[0].path).toBe('rollback_steps[0].config.flag_idd');
    const busCases: Array<[string, unknown, string]> = [
      ['rg.cmd.rollback.execute', { commandId: randomUUID(), actor: 'a', payload: { planId: 'nope' } }, 'ROLLBACK.PLAN_NOT_FOUND'],
      ['rg.cmd.rollback.emergency', { commandId: randomUUID(), actor: 'a', payload: { scope: 'user_group', targetId: 'no_segment' } }, 'ROLLBACK.TARGET_NOT_FOUND'],
      ['rg.cmd.rollback.emergency', { commandId: randomUUID(), actor: 'a', payload: { scope: 'feature_flag', targetId: key, extra: 1 } }, 'GENERIC.VALIDATION'],
      ['rg.cmd.rollback.cancel', { commandId: randomUUID(), actor: 'a', payload: { executionId: 'missing' } }, 'ROLLBACK.EXECUTION_NOT_FOUND'],
      ['rg.cmd.rollback.emergency', '{not json', 'GENERIC.VALIDATION'],
    ];
    for (const [subject, body, code] of busCases) {
      const reply = await bus.request(subject, body);
      expect({ subject, code: reply.ok ? 'ok' : reply.error.code }).toEqual({ subject, code });
    }
    expect((await system.sql<{ n: number }>('SELECT count(*)::int AS n FROM es.events', [], 'rollback'))[0]!.n).toBe(before);

    // A finished execution cannot be cancelled; a second manual execution on a busy target is refused: both leave the log as it was.
    const finished = await execute(await createPlan({ scope: 'feature_flag', target_id: key, rollback_steps: [{ type: 'set_rollout', config: { flag_id: key, percentage: 1 } }] }));
    await finishedRollback(system, finished);
    const after = (await system.sql<{ n: number }>('SELECT count(*)::int AS n FROM es.events', [], 'rollback'))[0]!.n;
    expect((await system.api('POST', `/api/v1/rollbacks/${finished}/cancel`, {})).body.code).toBe('ROLLBACK.INVALID_STATE');
    expect((await system.sql<{ n: number }>('SELECT count(*)::int AS n FROM es.events', [], 'rollback'))[0]!.n).toBe(after);
  });

  it('lists, filters and measures executions', async () => {
    const list = await system.api('GET', '/api/v1/rollbacks?status=succeeded&limit=500');
    expect(list.status).toBe(200);
    expect(list.body.count).toBeGreaterThan(5);
    expect(list.body.rollbacks.every((r: { status: string }) => r.status === 'succeeded')).toBe(true);
    const metrics = await system.api('GET', '/api/v1/rollbacks/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatchObject({ by_type: { emergency: expect.any(Number), manual: expect.any(Number), automatic: expect.any(Number), scheduled: expect.any(Number) } });
    expect(metrics.body.recovery_ms.count).toBeGreaterThan(0);
    expect(metrics.body.step_durations_ms.disable_feature_flag.count).toBeGreaterThan(0);
    const prom = await fetch(`${system.httpUrl('rollback')}/metrics`).then((r) => r.text());
    expect(prom).toMatch(/rollgate_rollback_executions_total\{[^}]*outcome="succeeded"/);
    expect(prom).toContain('rollgate_rollback_step_duration_seconds_bucket');
  });
});
