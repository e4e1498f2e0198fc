import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import type {
  CanaryCommandResult,
  CanaryHistory,
  CanaryMetrics,
  CanaryView,
  EnvironmentConfig,
  FlagDefinition,
  Reply,
} from '#rollgate/contracts';
import { waitFor } from '#rollgate/testing';
import { startCanaryTestApp, type CanaryTestApp } from './testing/canary-test-app.js';
import { outcomeBatch, publishBatches } from './testing/outcome-batches.js';

/**
 * The canary service on real Postgres and NATS, with a fake flags service (the e2e suite runs the real one):
 * the flag changes it sends and their idempotency keys, automatic rollback with and without the rollback
 * service, one active canary per flag under concurrent creates, refusals that leave the log unchanged, and a
 * restart that goes on where the log says.
 */
let t: CanaryTestApp;
let pool: pg.Pool;

const PRODUCTION: EnvironmentConfig = {
  enabled: false,
  rules: [],
  defaultRollout: { type: 'environment', environments: ['staging'] },
};
const flagNamed = (key: string): Omit<FlagDefinition, 'version'> => ({
  key,
  name: key,
  type: 'boolean',
  environments: { production: PRODUCTION, staging: { enabled: true, defaultRollout: { type: 'all_users' } } },
});

const request = async <T>(subject: string, body: unknown): Promise<Reply<T>> =>
  (await t.gateway.request(subject, JSON.stringify(body), { timeout: 10_000 })).json<Reply<T>>();
const command = <T = CanaryCommandResult>(verb: string, payload: unknown, commandId: string = randomUUID()) =>
  request<T>(`rg.cmd.canary.${verb}`, { commandId, actor: 'tester', reason: 'int-spec', payload });
const ok = <T>(reply: Reply<T>): T => {
  if (!reply.ok) throw new Error(`expected ok, got ${JSON.stringify(reply.error)}`);
  return reply.result;
};
const codeOf = (reply: Reply<unknown>): string => (reply.ok ? 'OK' : reply.error.code);
const view = async (id: string): Promise<CanaryView> => ok(await request<CanaryView>('rg.qry.canary.get', { id }));
const eventCount = async (): Promise<number> =>
  Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM es.events')).rows[0]!.n);

/** Creates and starts a canary on a fresh flag; returns its id and the flag key. */
async function running(payload: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const key = `int_${randomUUID().slice(0, 8)}`;
  t.flags.define(flagNamed(key));
  const created = ok(
    await command('create', {
      flagKey: key,
      name: `canary of ${key}`,
      strategy: 'percentage',
      targetPercentage: 10,
      monitoringDurationHours: 1,
      ...payload,
    }),
  );
  const started = ok(await command('start', { id: created.canary.id, startedBy: 'alice' }));
  expect(started.canary).toMatchObject({ status: 'running', appliedSteps: ['stage-0'] });
  return { id: created.canary.id, key };
}

/** Feeds windows of outcome batches until `until` holds (a regression: canary users fail `canaryErrors` of 100). */
async function feed(
  key: string,
  canaryErrors: number,
  until: () => Promise<boolean>,
  baselineErrors = 9,
): Promise<number> {
  let batches = 0;
  await waitFor(
    'the judge to decide',
    async () => {
      await publishBatches(t.sdk, [
        outcomeBatch(key, {
          on: { requests: 100, errorUsers: canaryErrors },
          off: { requests: 900, errorUsers: baselineErrors },
        }),
      ]);
      batches++;
      return (await until()) ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  return batches;
}

beforeAll(async () => {
  t = await startCanaryTestApp({ ROLLGATE_CANARY_ROLLBACK_GRACE_MS: '300' });
  pool = new pg.Pool({ connectionString: t.db.appUrl, max: 2 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.close();
});

describe('canary service (real Postgres and NATS, fake flags service)', () => {
  it('starts by changing the flag once, pinned to the version its prior state was read at', async () => {
    const { id, key } = await running();
    const sent = t.flags.applied.filter((a) => a.payload['key'] === key);
    expect(sent).toEqual([
      expect.objectContaining({
        commandId: `canary:${id}:stage-0:production`,
        verb: 'configure-environment',
        payload: {
          key,
          environment: 'production',
          expectedVersion: 1,
          config: { ...PRODUCTION, enabled: true, defaultRollout: { type: 'percentage', ppm: 100_000 } },
        },
      }),
    ]);
    const canary = await view(id);
    expect(canary.prior).toEqual({ flagVersion: 1, environments: { production: PRODUCTION } });
    expect(t.flags.received.find((r) => r.commandId === sent[0]!.commandId)).toMatchObject({
      actor: 'system:canary',
      reason: expect.stringContaining(`canary ${id}`),
    });
  });

  it('rolls back a regression by itself when no rollback service answers: the flag exactly as before, each change applied once', async () => {
    const { id, key } = await running();
    const before = { ...t.flags.flags.get(key)!.environments };
    const batches = await feed(key, 12, async () => (await view(id)).status === 'rolled_back');
    const canary = await view(id);
    expect(canary).toMatchObject({
      status: 'rolled_back',
      regression: { metric: 'errors', action: 'rollback' },
      rollback: { cause: 'regression', triggerError: { code: 'GENERIC.UNAVAILABLE' } },
    });
    expect(t.flags.flags.get(key)!.environments['production']).toEqual(PRODUCTION);
    expect(before['production']).not.toEqual(PRODUCTION);
    const commandIds = t.flags.applied.filter((a) => a.payload['key'] === key).map((a) => a.commandId);
    expect(commandIds).toEqual([`canary:${id}:stage-0:production`, `canary:${id}:restore:production`]);
    // The decision's evidence is in the log.
    const history = ok(await request<CanaryHistory>('rg.qry.canary.history', { id }));
    const decision = history.entries.find((e) => e.type === 'CanaryRegressionDetected')!;
    const evidence = (
      decision.data as {
        evidence: {
          tests: Array<{ metric: string; test: string; logE: number; threshold: number }>;
          canary: { errorUnits: number };
        };
      }
    ).evidence;
    const errors = evidence.tests.find((test) => test.metric === 'errors' && test.test === 'regression')!;
    expect(errors.logE).toBeGreaterThanOrEqual(errors.threshold);
    expect(evidence.canary.errorUnits).toBeGreaterThan(0);
    expect(history.entries.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'CanaryCreated',
        'CanaryStarted',
        'CanaryFlagChanged',
        'CanaryWindowRecorded',
        'CanaryRegressionDetected',
        'CanaryRollbackTriggerFailed',
        'CanaryRolledBack',
      ]),
    );
    expect(batches).toBeGreaterThan(1);
    const metrics = ok(await request<CanaryMetrics>('rg.qry.canary.metrics', { id }));
    expect(metrics.canary.requests).toBeGreaterThan(0);
    expect(metrics.canary.errorRate).toBeCloseTo(0.12, 5);
    expect(metrics.baseline.errorRate).toBeCloseTo(0.01, 5);
  });

  it('goes through the rollback service when it answers: its execution ends the canary, the canary restores the flag', async () => {
    const rollback = await connect(t.nats.options('rollback'));
    const triggers: unknown[] = [];
    const sub = rollback.subscribe('rg.cmd.rollback.trigger', {
      queue: 'rollback-svc',
      callback: (_, msg) => {
        const envelope = msg.json<{ payload: { canaryId: string; decisionId: string } }>();
        triggers.push(envelope);
        msg.respond(JSON.stringify({ ok: true, result: { id: 'exec-1', status: 'running' } }));
        // The execution's end_canary step, as the rollback service sends it.
        setTimeout(() => {
          void rollback.request(
            'rg.cmd.canary.end',
            JSON.stringify({
              commandId: `rb:exec-1:0`,
              actor: 'system:rollback',
              payload: { canaryId: envelope.payload.canaryId, outcome: 'rolled_back' },
            }),
            { timeout: 10_000 },
          );
        }, 50);
      },
    });
    try {
      const { id, key } = await running();
      await feed(key, 12, async () => (await view(id)).status === 'rolled_back');
      const canary = await view(id);
      expect(canary.rollback).toMatchObject({ cause: 'regression', executionId: 'exec-1', endedBy: 'system:rollback' });
      expect(triggers).toEqual([
        expect.objectContaining({
          commandId: `canary:${id}:trigger`,
          payload: { source: 'canary_decision', canaryId: id, decisionId: `${id}:regression`, decision: 'regression' },
        }),
      ]);
      expect(t.flags.flags.get(key)!.environments['production']).toEqual(PRODUCTION);
    } finally {
      sub.unsubscribe();
      await rollback.drain();
    }
  });

  it('keeps one active canary per flag, even under 8 concurrent creates', async () => {
    const key = `int_${randomUUID().slice(0, 8)}`;
    t.flags.define(flagNamed(key));
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => command('create', { flagKey: key, name: `c${i}`, strategy: 'percentage' })),
    );
    expect(replies.map(codeOf).sort()).toEqual(
      ['CANARY.ACTIVE_CANARY_EXISTS', ...new Array(6).fill('CANARY.ACTIVE_CANARY_EXISTS'), 'OK'].sort(),
    );
    const winner = replies.find((r) => r.ok)!;
    // Once it is over, the flag takes another.
    ok(await command('abort', { id: ok(winner).canary.id }));
    expect(codeOf(await command('create', { flagKey: key, name: 'next', strategy: 'percentage' }))).toBe('OK');
  });

  it('refuses bad input with a stable code and leaves the log unchanged', async () => {
    const key = `int_${randomUUID().slice(0, 8)}`;
    t.flags.define(flagNamed(key));
    t.flags.define({ ...flagNamed(`${key}_arch`), archived: true });
    const before = await eventCount();
    const cases: Array<[unknown, string]> = [
      [{ flagKey: key, name: 'x', strategy: 'percentage', targetPercentage: 60 }, 'GENERIC.VALIDATION'],
      [{ flagKey: key, name: 'x', strategy: 'percentage', monitoringDurationHours: 200 }, 'GENERIC.VALIDATION'],
      [
        { flagKey: key, name: 'x', strategy: 'percentage', successCriteria: { max_error_rate: 0.1 } },
        'GENERIC.VALIDATION',
      ],
      [
        { flagKey: key, name: 'x', strategy: 'percentage', rollbackCriteria: { maxErrorRate: -1 } },
        'GENERIC.VALIDATION',
      ],
      [{ flagKey: key, name: 'x', strategy: 'blue_green' }, 'GENERIC.VALIDATION'],
      [{ flagKey: 'no_such_flag', name: 'x', strategy: 'percentage' }, 'CANARY.FLAG_NOT_FOUND'],
      [{ flagKey: `${key}_arch`, name: 'x', strategy: 'percentage' }, 'CANARY.FLAG_ARCHIVED'],
    ];
    for (const [payload, code] of cases) expect(codeOf(await command('create', payload))).toBe(code);
    expect(codeOf(await command('start', { id: 'no-such-canary' }))).toBe('CANARY.NOT_FOUND');
    expect(
      codeOf(
        await request('rg.cmd.canary.create', { commandId: 'x', actor: 'a', payload: { flagKey: key }, extra: 1 }),
      ),
    ).toBe('GENERIC.VALIDATION');
    expect(await eventCount()).toBe(before);
  });

  it('answers a repeated command id with its first result', async () => {
    const key = `int_${randomUUID().slice(0, 8)}`;
    t.flags.define(flagNamed(key));
    const commandId = randomUUID();
    const first = ok(await command('create', { flagKey: key, name: 'once', strategy: 'percentage' }, commandId));
    const again = ok(await command('create', { flagKey: key, name: 'once', strategy: 'percentage' }, commandId));
    expect(again).toMatchObject({ duplicate: true, canary: { id: first.canary.id, version: 1 } });
    expect(codeOf(await command('create', { flagKey: key, name: 'other', strategy: 'percentage' }, commandId))).toBe(
      'CANARY.IDEMPOTENCY_KEY_REUSED',
    );
  });

  it('cancels a start whose flag changed under it, applying nothing', async () => {
    const key = `int_${randomUUID().slice(0, 8)}`;
    t.flags.define(flagNamed(key));
    const created = ok(await command('create', { flagKey: key, name: 'racy', strategy: 'percentage' }));
    // Another writer changes the flag right after the canary read it (the timer fires once the read is answered).
    const staging: EnvironmentConfig = { enabled: false, defaultRollout: { type: 'none' } };
    t.flags.beforeNextGet = () => setTimeout(() => t.flags.touch(key, 'staging', staging), 0);
    const reply = await command('start', { id: created.canary.id });
    expect(codeOf(reply)).toBe('CANARY.FLAG_CONFLICT');
    expect(await view(created.canary.id)).toMatchObject({
      status: 'cancelled',
      appliedSteps: [],
      startError: { code: 'FLAGS.VERSION_CONFLICT' },
    });
    expect(t.flags.flags.get(key)!.environments).toEqual({ ...flagNamed(key).environments, staging });
    // The flag is free again.
    expect(codeOf(await command('create', { flagKey: key, name: 'again', strategy: 'percentage' }))).toBe('OK');
  });

  it('pauses over the bus: failing traffic meanwhile is neither recorded nor judged; after resume the judge rolls it back; bad pauses and resumes are refused, the log unchanged', async () => {
    const { id, key } = await running();
    const paused = ok(await command('pause', { id, pausedBy: 'oncall' }));
    expect(paused.canary).toMatchObject({ status: 'paused', hold: { by: 'oncall', reason: 'int-spec' } });
    const before = await eventCount();
    expect(codeOf(await command('pause', { id }))).toBe('CANARY.INVALID_STATE');
    // Failing batches for longer than a window (1 s) and several looks: nothing is recorded while held.
    for (let i = 0; i < 15; i++) {
      await publishBatches(t.sdk, [
        outcomeBatch(key, { on: { requests: 100, errorUsers: 40 }, off: { requests: 900, errorUsers: 9 } }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await eventCount()).toBe(before);
    expect(await view(id)).toMatchObject({ status: 'paused', totals: { windows: 0 } });

    const resumed = ok(await command('resume', { id, resumedBy: 'oncall' }));
    expect(resumed.canary).toMatchObject({ status: 'running', pausedMs: expect.any(Number) });
    expect(resumed.canary.pausedMs).toBeGreaterThan(0);
    expect(codeOf(await command('resume', { id }))).toBe('CANARY.INVALID_STATE');
    await feed(key, 40, async () => (await view(id)).status === 'rolled_back');
    const afterRollback = await eventCount();
    expect(codeOf(await command('pause', { id }))).toBe('CANARY.INVALID_STATE');
    expect(codeOf(await command('resume', { id }))).toBe('CANARY.INVALID_STATE');
    expect(codeOf(await command('pause', { id: 'no-such-canary' }))).toBe('CANARY.NOT_FOUND');
    expect(codeOf(await command('pause', { id: 'Bad Id!' }))).toBe('GENERIC.VALIDATION');
    expect(await eventCount()).toBe(afterRollback);
    const history = ok(await request<CanaryHistory>('rg.qry.canary.history', { id }));
    expect(
      history.entries
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

  it('promotes a healthy gradual canary stage by stage after a restart in the middle', async () => {
    const { id, key } = await running({
      strategy: 'gradual',
      targetPercentage: undefined,
      stages: [
        { percentage: 10, minDurationMinutes: 0.02 },
        { percentage: 30, minDurationMinutes: 0.02 },
      ],
      minRequests: 10,
    });
    await feed(key, 5, async () => (await view(id)).stage === 1, 45);
    await t.restart();
    await feed(key, 5, async () => (await view(id)).status === 'promoted', 45);
    const canary = await view(id);
    expect(canary).toMatchObject({
      status: 'promoted',
      certified: true,
      promotion: { automatic: true, override: false },
      appliedSteps: ['stage-0', 'stage-1', 'promote'],
    });
    expect(t.flags.flags.get(key)!.environments['production']).toEqual({
      ...PRODUCTION,
      enabled: true,
      defaultRollout: { type: 'all_users' },
    });
    const ids = t.flags.applied.filter((a) => a.payload['key'] === key).map((a) => a.commandId);
    expect(ids).toEqual([
      `canary:${id}:stage-0:production`,
      `canary:${id}:stage-1:production`,
      `canary:${id}:promote:production`,
    ]);
  });
});
