import fc from 'fast-check';
import type {
  CanaryEvent,
  CanaryState,
  CanaryWindow,
  CohortCounts,
  CreateCanaryPayload,
  FlagDefinition,
  PriorFlagState,
} from '#rollgate/contracts';
import { batchIncrements, emptyCounts } from '../judge/canary-judge.js';
import { evolveCanary, type CanaryAggregateState } from './canary.aggregate.js';
import { decideCanary, type CanaryCommand } from './canary.decider.js';
import { CanaryError } from './canary.errors.js';
import { planCanary } from './canary.plan.js';
import { nextAction, stepOperations } from './canary-steps.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0 + seconds * 1_000);

const FLAG: FlagDefinition = {
  key: 'checkout',
  name: 'Checkout',
  type: 'boolean',
  version: 4,
  environments: {
    production: {
      enabled: false,
      rules: [{ id: 'staff', conditions: [{ attribute: 'staff', operator: 'equals', values: ['yes'] }] }],
      defaultRollout: { type: 'none' },
    },
  },
};
const PRIOR: PriorFlagState = { flagVersion: 4, environments: { production: FLAG.environments['production']! } };

const plan = (overrides: Partial<CreateCanaryPayload> = {}) =>
  planCanary(
    {
      flagKey: 'checkout',
      name: 'Checkout canary',
      strategy: 'gradual',
      stages: [
        { percentage: 10, minDurationMinutes: 5 },
        { percentage: 25, minDurationMinutes: 5 },
      ],
      monitoringDurationHours: 1,
      minRequests: 50,
      ...overrides,
    } as CreateCanaryPayload,
    'c1',
    FLAG,
  );

/** Folds events as the store would (versions from 1). */
const fold = (events: readonly CanaryEvent[], from: CanaryAggregateState = null): CanaryAggregateState =>
  events.reduce<CanaryAggregateState>(
    (state, event, i) => evolveCanary(state, event, (from?.version ?? 0) + i + 1),
    from,
  );

/** A canary's life as a sequence of commands: each decided on the state the previous ones left. */
class Life {
  state: CanaryAggregateState = null;
  readonly log: CanaryEvent[] = [];

  run(command: CanaryCommand, now: Date): CanaryEvent[] {
    const events = decideCanary(command, this.state, now);
    this.state = fold(events, this.state);
    this.log.push(...events);
    return events;
  }

  get canary(): CanaryState {
    return this.state!;
  }

  /** Applies whatever step the state asks for, as the reactor would, with a fake flag version. */
  applyStep(now: Date): CanaryEvent[] {
    const action = nextAction(this.canary, now.getTime(), 2_000);
    if (action.kind !== 'apply') throw new Error(`expected a step, got ${action.kind}`);
    return this.run(
      { type: 'RecordStep', data: { step: action.step, flagVersion: this.canary.version + 10, changes: [] } },
      now,
    );
  }
}

const counts = (requests: number, errorUnits: number): CohortCounts => ({
  ...emptyCounts(),
  batches: 1,
  requests,
  errorUnits,
  errors: errorUnits,
});

function windowOf(
  state: CanaryState,
  startSeconds: number,
  canary: CohortCounts,
  baseline: CohortCounts,
): CanaryWindow {
  return {
    start: at(startSeconds).toISOString(),
    end: at(startSeconds + 10).toISOString(),
    canary,
    baseline,
    increments: batchIncrements(state.judge, canary, baseline),
  };
}

const started = (overrides: Partial<CreateCanaryPayload> = {}): Life => {
  const life = new Life();
  life.run({ type: 'CreateCanary', data: { canary: plan(overrides), by: 'alice' } }, at(0));
  life.run({ type: 'StartCanary', data: { prior: PRIOR, by: 'alice' } }, at(1));
  life.applyStep(at(1));
  return life;
};

const thrownCode = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CanaryError);
    return (error as CanaryError).code;
  }
  throw new Error('expected an error');
};

describe(decideCanary.name, () => {
  it('creates once and starts once, recording the flag as it was', () => {
    const life = new Life();
    expect(life.run({ type: 'CreateCanary', data: { canary: plan(), by: 'alice' } }, at(0)).map((e) => e.type)).toEqual(
      ['CanaryCreated'],
    );
    expect(thrownCode(() => life.run({ type: 'CreateCanary', data: { canary: plan(), by: 'alice' } }, at(0)))).toBe(
      'CANARY.ALREADY_EXISTS',
    );
    expect(thrownCode(() => life.run({ type: 'PromoteCanary', data: { by: 'bob', override: true } }, at(0)))).toBe(
      'CANARY.INVALID_STATE',
    );
    life.run({ type: 'StartCanary', data: { prior: PRIOR, by: 'alice' } }, at(1));
    expect(life.canary).toMatchObject({ status: 'running', prior: PRIOR, startedBy: 'alice' });
    expect(thrownCode(() => life.run({ type: 'StartCanary', data: { prior: PRIOR, by: 'alice' } }, at(2)))).toBe(
      'CANARY.INVALID_STATE',
    );
  });

  it('asks for stage 0 pinned to the prior flag version, and restores each environment exactly as it was', () => {
    const life = new Life();
    life.run({ type: 'CreateCanary', data: { canary: plan(), by: 'alice' } }, at(0));
    life.run({ type: 'StartCanary', data: { prior: PRIOR, by: 'alice' } }, at(1));
    const action = nextAction(life.canary, at(1).getTime(), 2_000);
    expect(action).toMatchObject({ kind: 'apply', step: 'stage-0' });
    expect(action.kind === 'apply' && action.operations).toEqual([
      {
        environment: 'production',
        verb: 'configure-environment',
        commandId: 'canary:c1:stage-0:production',
        payload: {
          key: 'checkout',
          environment: 'production',
          expectedVersion: 4,
          config: {
            enabled: true,
            rules: PRIOR.environments['production']!.rules,
            defaultRollout: { type: 'percentage', ppm: 100_000 },
          },
        },
      },
    ]);
    expect(stepOperations(life.canary, 'restore')[0]!.payload).toEqual({
      key: 'checkout',
      environment: 'production',
      config: PRIOR.environments['production'],
    });
    const fresh = { ...life.canary, prior: { flagVersion: 4, environments: { production: null } } };
    expect(stepOperations(fresh, 'restore')[0]).toMatchObject({
      verb: 'remove-environment',
      payload: { key: 'checkout', environment: 'production' },
    });
  });

  it('records no window before its first flag change', () => {
    const life = new Life();
    life.run({ type: 'CreateCanary', data: { canary: plan(), by: 'alice' } }, at(0));
    life.run({ type: 'StartCanary', data: { prior: PRIOR, by: 'alice' } }, at(1));
    expect(
      life.run({ type: 'Observe', data: { window: windowOf(life.canary, 1, counts(100, 1), counts(900, 9)) } }, at(11)),
    ).toEqual([]);
  });

  it('decides REGRESSION once with its evidence, asks the rollback service, and restores the flag itself when the service stays silent', () => {
    const life = started();
    let t = 2;
    let events: CanaryEvent[] = [];
    while (life.canary.status === 'running' && t < 600) {
      events = life.run(
        { type: 'Observe', data: { window: windowOf(life.canary, t, counts(100, 8), counts(900, 9)) } },
        at(t + 10),
      );
      t += 10;
    }
    expect(events.map((e) => e.type)).toEqual(['CanaryWindowRecorded', 'CanaryRegressionDetected']);
    const decision = events[1] as Extract<CanaryEvent, { type: 'CanaryRegressionDetected' }>;
    expect(decision.data).toMatchObject({ decisionId: 'c1:regression', metric: 'errors', action: 'rollback' });
    const errors = decision.data.evidence.tests.find((test) => test.metric === 'errors' && test.test === 'regression')!;
    expect(errors.logE).toBeGreaterThanOrEqual(errors.threshold);
    expect(errors.threshold).toBeCloseTo(Math.log(100), 10);
    expect(decision.data.evidence.canary.errorUnits).toBeGreaterThan(0);
    expect(life.canary.status).toBe('rolling_back');
    // Further windows decide nothing more.
    expect(
      life.run(
        { type: 'Observe', data: { window: windowOf(life.canary, t, counts(100, 8), counts(900, 9)) } },
        at(t + 10),
      ),
    ).toEqual([]);

    expect(nextAction(life.canary, at(t).getTime(), 2_000)).toEqual({
      kind: 'trigger',
      request: { source: 'canary_decision', canaryId: 'c1', decisionId: 'c1:regression', decision: 'regression' },
    });
    life.run({ type: 'RecordTrigger', data: { executionId: 'exec-1' } }, at(t));
    expect(nextAction(life.canary, at(t + 1).getTime(), 2_000)).toEqual({ kind: 'wait', until: at(t + 2).getTime() });
    expect(nextAction(life.canary, at(t + 2).getTime(), 2_000)).toMatchObject({ kind: 'apply', step: 'restore' });
    expect(life.applyStep(at(t + 2)).map((e) => e.type)).toEqual(['CanaryRolledBack']);
    expect(life.canary).toMatchObject({
      status: 'rolled_back',
      rollback: { cause: 'regression', executionId: 'exec-1' },
    });
    expect(life.log.at(-1)).toMatchObject({ data: { cause: 'regression', decisionId: 'c1:regression' } });
    // Terminal: another rollback (the rollback service's end_canary step arriving late) is a no-op.
    expect(
      life.run({ type: 'RollbackCanary', data: { by: 'rollback', cause: 'rollback_service' } }, at(t + 3)),
    ).toEqual([]);
  });

  it("restores at once when the rollback service's execution ends the canary, or when it cannot be asked", () => {
    for (const answer of ['end', 'unavailable'] as const) {
      const life = started({ stages: [{ percentage: 10, minDurationMinutes: 5 }] });
      for (let t = 2; life.canary.status === 'running'; t += 10) {
        life.run(
          { type: 'Observe', data: { window: windowOf(life.canary, t, counts(100, 20), counts(900, 9)) } },
          at(t + 10),
        );
      }
      if (answer === 'end') {
        life.run({ type: 'RecordTrigger', data: { executionId: 'exec-1' } }, at(100));
        expect(
          life
            .run({ type: 'RollbackCanary', data: { by: 'rollback', cause: 'rollback_service' } }, at(101))
            .map((e) => e.type),
        ).toEqual(['CanaryEndRequested']);
        expect(
          life.run({ type: 'RollbackCanary', data: { by: 'rollback', cause: 'rollback_service' } }, at(101)),
        ).toEqual([]);
      } else {
        life.run(
          { type: 'RecordTrigger', data: { error: { code: 'GENERIC.UNAVAILABLE', message: 'no responders' } } },
          at(100),
        );
      }
      expect(nextAction(life.canary, at(101).getTime(), 60_000)).toMatchObject({ kind: 'apply', step: 'restore' });
    }
  });

  it('pauses instead under the pause policy: the flag stays, promotion needs an override', () => {
    const life = started({ onRegression: 'pause' });
    for (let t = 2; life.canary.status === 'running'; t += 10) {
      life.run(
        { type: 'Observe', data: { window: windowOf(life.canary, t, counts(100, 20), counts(900, 9)) } },
        at(t + 10),
      );
    }
    expect(life.canary.status).toBe('paused');
    expect(nextAction(life.canary, at(500).getTime(), 2_000)).toEqual({ kind: 'none' });
    expect(thrownCode(() => life.run({ type: 'PromoteCanary', data: { by: 'bob', override: false } }, at(500)))).toBe(
      'CANARY.PROMOTION_CONFLICT',
    );
    life.run({ type: 'PromoteCanary', data: { by: 'bob', override: true, reason: 'known flake' } }, at(501));
    expect(life.canary).toMatchObject({
      status: 'promoting',
      promotion: { by: 'bob', override: true, automatic: false },
    });
  });

  it('certifies a healthy canary, advances stage by stage after each minimum duration and exposure, and promotes after the last', () => {
    const life = started();
    const healthy = (t: number) => windowOf(life.canary, t, counts(500, 5), counts(500, 5));
    let t = 2;
    const types: string[] = [];
    for (; t < 290; t += 10)
      types.push(...life.run({ type: 'Observe', data: { window: healthy(t) } }, at(t + 10)).map((e) => e.type));
    expect(types).toContain('CanaryCertifiedSafe');
    expect(types).not.toContain('CanaryStageAdvanced');
    expect(life.canary.status).toBe('running');
    // Past 5 minutes at stage 0: advance.
    const advanced = life.run({ type: 'Observe', data: { window: healthy(t) } }, at(305));
    expect(advanced.map((e) => e.type)).toEqual(['CanaryWindowRecorded', 'CanaryStageAdvanced']);
    expect(advanced[1]).toMatchObject({ data: { stage: 1, percentage: 25 } });
    const step = nextAction(life.canary, at(305).getTime(), 2_000);
    expect(step).toMatchObject({
      kind: 'apply',
      step: 'stage-1',
      operations: [{ payload: { config: { defaultRollout: { ppm: 250_000 } } } }],
    });
    expect(step.kind === 'apply' && step.operations[0]!.payload).not.toHaveProperty('expectedVersion');
    life.applyStep(at(306));
    // The second stage's minimum counts from its own flag change.
    expect(life.run({ type: 'Observe', data: { window: healthy(306) } }, at(500)).map((e) => e.type)).toEqual([
      'CanaryWindowRecorded',
    ]);
    expect(life.run({ type: 'Observe', data: {} }, at(607)).map((e) => e.type)).toEqual(['CanaryPromotionRequested']);
    expect(life.log.at(-1)).toMatchObject({ data: { by: 'system:canary', automatic: true, override: false } });
    expect(nextAction(life.canary, at(607).getTime(), 2_000)).toMatchObject({
      kind: 'apply',
      step: 'promote',
      operations: [
        {
          commandId: 'canary:c1:promote:production',
          payload: { config: { enabled: true, defaultRollout: { type: 'all_users' } } },
        },
      ],
    });
    expect(life.applyStep(at(608)).map((e) => e.type)).toEqual(['CanaryPromoted']);
    expect(life.canary.status).toBe('promoted');
  });

  it('does not advance a certified stage without its minimum canary traffic', () => {
    const life = started({ minRequests: 100_000 });
    for (let t = 2; t < 400; t += 10)
      life.run(
        { type: 'Observe', data: { window: windowOf(life.canary, t, counts(500, 5), counts(500, 5)) } },
        at(t + 10),
      );
    expect(life.canary.certifiedAt).toBeDefined();
    expect(life.canary.stage).toBe(0);
  });

  it('never rolls back on missing telemetry: at the deadline it is INCONCLUSIVE and holds', () => {
    const life = started();
    expect(life.run({ type: 'Observe', data: {} }, at(1_000))).toEqual([]);
    const events = life.run({ type: 'Observe', data: {} }, at(3_601));
    expect(events.map((e) => e.type)).toEqual(['CanaryInconclusive']);
    expect(events[0]).toMatchObject({ data: { action: 'hold', evidence: { windows: 0 } } });
    expect(life.canary.status).toBe('inconclusive');
    expect(nextAction(life.canary, at(3_602).getTime(), 2_000)).toEqual({ kind: 'none' });
    // Still judged: a regression now rolls back.
    for (let t = 3_602; life.canary.status === 'inconclusive' && t < 9_000; t += 10) {
      life.run(
        { type: 'Observe', data: { window: windowOf(life.canary, t, counts(100, 20), counts(900, 9)) } },
        at(t + 10),
      );
    }
    expect(life.canary.status).toBe('rolling_back');
  });

  it('rolls back an inconclusive canary only when that policy is opted into, without the rollback service', () => {
    const life = started({ onInconclusive: 'rollback' });
    life.run({ type: 'Observe', data: {} }, at(3_601));
    expect(life.canary).toMatchObject({ status: 'rolling_back', rollback: { cause: 'inconclusive' } });
    expect(nextAction(life.canary, at(3_602).getTime(), 2_000)).toMatchObject({ kind: 'apply', step: 'restore' });
  });

  it('rolls back a promoted canary on request, and aborts: a created one is cancelled, a running one restored then cancelled', () => {
    const promoted = started();
    promoted.run({ type: 'PromoteCanary', data: { by: 'bob', override: true } }, at(5));
    promoted.applyStep(at(6));
    promoted.run({ type: 'RollbackCanary', data: { by: 'carol', cause: 'manual', reason: 'support tickets' } }, at(7));
    expect(nextAction(promoted.canary, at(7).getTime(), 2_000)).toMatchObject({ kind: 'apply', step: 'restore' });
    expect(promoted.applyStep(at(8))).toMatchObject([{ type: 'CanaryRolledBack', data: { cause: 'manual' } }]);

    const created = new Life();
    created.run({ type: 'CreateCanary', data: { canary: plan(), by: 'alice' } }, at(0));
    expect(created.run({ type: 'AbortCanary', data: { by: 'alice' } }, at(1))).toMatchObject([
      { type: 'CanaryCancelled', data: { restored: false } },
    ]);

    const running = started();
    running.run({ type: 'AbortCanary', data: { by: 'alice', reason: 'wrong flag' } }, at(3));
    expect(running.applyStep(at(4))).toMatchObject([
      { type: 'CanaryCancelled', data: { restored: true, reason: 'wrong flag' } },
    ]);
    expect(running.canary.status).toBe('cancelled');
  });

  it("holds while an operator's pause is in force: nothing judged, the stage clock and the deadline stop, resume goes on", () => {
    const life = started();
    const healthy = (t: number) => windowOf(life.canary, t, counts(500, 5), counts(500, 5));
    for (let t = 2; t < 100; t += 10) life.run({ type: 'Observe', data: { window: healthy(t) } }, at(t + 10));
    expect(life.canary.certifiedAt).toBeDefined();
    const windows = life.canary.totals.windows;
    expect(life.run({ type: 'PauseCanary', data: { by: 'oncall', reason: 'incident' } }, at(120))).toMatchObject([
      { type: 'CanaryPaused', data: { by: 'oncall', reason: 'incident' } },
    ]);
    expect(life.canary).toMatchObject({ status: 'paused', hold: { by: 'oncall', reason: 'incident' } });
    // A failing window, the stage's minimum and the deadline all pass while paused: no window, no decision.
    const failing = windowOf(life.canary, 130, counts(100, 40), counts(900, 9));
    expect(life.run({ type: 'Observe', data: { window: failing } }, at(400))).toEqual([]);
    expect(life.run({ type: 'Observe', data: {} }, at(4_000))).toEqual([]);
    expect(life.canary.totals.windows).toBe(windows);
    expect(nextAction(life.canary, at(4_000).getTime(), 2_000)).toEqual({ kind: 'none' });
    expect(thrownCode(() => life.run({ type: 'PauseCanary', data: { by: 'oncall' } }, at(4_001)))).toBe(
      'CANARY.INVALID_STATE',
    );

    expect(life.run({ type: 'ResumeCanary', data: { by: 'oncall' } }, at(4_020))).toMatchObject([
      { type: 'CanaryResumed', data: { pausedMs: 3_900_000 } },
    ]);
    expect(life.canary).toMatchObject({ status: 'running', pausedMs: 3_900_000 });
    expect(life.canary.hold).toBeUndefined();
    // Stage 0 had run 119 s of its 300 s when paused: it advances 181 s after the resume, not before.
    expect(life.run({ type: 'Observe', data: { window: healthy(4_020) } }, at(4_200)).map((e) => e.type)).toEqual([
      'CanaryWindowRecorded',
    ]);
    expect(life.run({ type: 'Observe', data: {} }, at(4_202)).map((e) => e.type)).toEqual(['CanaryStageAdvanced']);
    expect(thrownCode(() => life.run({ type: 'ResumeCanary', data: { by: 'oncall' } }, at(4_203)))).toBe(
      'CANARY.INVALID_STATE',
    );
  });

  it('moves the deadline by the time paused, and lets a stage change decided before the pause land during it', () => {
    const life = started({ stages: [{ percentage: 10, minDurationMinutes: 50 }], minRequests: 0 });
    life.run({ type: 'PauseCanary', data: { by: 'oncall' } }, at(600));
    life.run({ type: 'ResumeCanary', data: { by: 'oncall' } }, at(1_800));
    expect(life.run({ type: 'Observe', data: {} }, at(3_601))).toEqual([]);
    expect(life.run({ type: 'Observe', data: {} }, at(4_801)).map((e) => e.type)).toEqual(['CanaryInconclusive']);

    const advancing = started({ minRequests: 0 });
    const healthy = (t: number) => windowOf(advancing.canary, t, counts(500, 5), counts(500, 5));
    for (let t = 2; advancing.canary.stage === 0; t += 10)
      advancing.run({ type: 'Observe', data: { window: healthy(t) } }, at(t + 10));
    advancing.run({ type: 'PauseCanary', data: { by: 'oncall' } }, at(400));
    expect(nextAction(advancing.canary, at(401).getTime(), 2_000)).toMatchObject({ kind: 'apply', step: 'stage-1' });
    advancing.applyStep(at(500));
    expect(advancing.canary).toMatchObject({ status: 'paused', stage: 1, appliedSteps: ['stage-0', 'stage-1'] });
    advancing.run({ type: 'ResumeCanary', data: { by: 'oncall' } }, at(800));
    // Stage 1's clock starts at the resume: its flag change landed while paused.
    expect(advancing.canary.stageStartedAt).toBe(at(800).toISOString());
  });

  it('refuses to pause what is not running and to resume what an operator did not pause, with CANARY.INVALID_STATE', () => {
    const created = new Life();
    created.run({ type: 'CreateCanary', data: { canary: plan(), by: 'alice' } }, at(0));
    expect(thrownCode(() => created.run({ type: 'PauseCanary', data: { by: 'op' } }, at(1)))).toBe(
      'CANARY.INVALID_STATE',
    );
    const promoted = started();
    promoted.run({ type: 'PromoteCanary', data: { by: 'bob', override: true } }, at(5));
    promoted.applyStep(at(6));
    expect(thrownCode(() => promoted.run({ type: 'PauseCanary', data: { by: 'op' } }, at(7)))).toBe(
      'CANARY.INVALID_STATE',
    );
    expect(thrownCode(() => promoted.run({ type: 'ResumeCanary', data: { by: 'op' } }, at(7)))).toBe(
      'CANARY.INVALID_STATE',
    );
    expect(thrownCode(() => started().run({ type: 'ResumeCanary', data: { by: 'op' } }, at(7)))).toBe(
      'CANARY.INVALID_STATE',
    );

    const regressed = started({ onRegression: 'pause' });
    for (let t = 2; regressed.canary.status === 'running'; t += 10)
      regressed.run(
        { type: 'Observe', data: { window: windowOf(regressed.canary, t, counts(100, 20), counts(900, 9)) } },
        at(t + 10),
      );
    expect(thrownCode(() => regressed.run({ type: 'ResumeCanary', data: { by: 'op' } }, at(900)))).toBe(
      'CANARY.INVALID_STATE',
    );

    // An operator may still promote (with the certificate or an override) or roll back a paused canary.
    const paused = started();
    paused.run({ type: 'PauseCanary', data: { by: 'op' } }, at(10));
    paused.run({ type: 'RollbackCanary', data: { by: 'op', cause: 'manual' } }, at(11));
    expect(paused.canary.status).toBe('rolling_back');
    expect(paused.canary.hold).toBeUndefined();
  });

  it('fails a start whose flag moved before the first change, applying nothing', () => {
    const life = new Life();
    life.run({ type: 'CreateCanary', data: { canary: plan(), by: 'alice' } }, at(0));
    life.run({ type: 'StartCanary', data: { prior: PRIOR, by: 'alice' } }, at(1));
    life.run(
      { type: 'RecordStartFailure', data: { error: { code: 'FLAGS.VERSION_CONFLICT', message: 'moved' } } },
      at(2),
    );
    expect(life.canary).toMatchObject({ status: 'cancelled', startError: { code: 'FLAGS.VERSION_CONFLICT' } });
    expect(nextAction(life.canary, at(3).getTime(), 2_000)).toEqual({ kind: 'none' });
  });

  it('keeps its invariants over random command sequences: terminal states are sticky, each step applied once', () => {
    const command = fc.oneof(
      fc.constant<CanaryCommand>({ type: 'PromoteCanary', data: { by: 'op', override: true } }),
      fc.constant<CanaryCommand>({ type: 'PromoteCanary', data: { by: 'op', override: false } }),
      fc.constant<CanaryCommand>({ type: 'RollbackCanary', data: { by: 'op', cause: 'manual' } }),
      fc.constant<CanaryCommand>({ type: 'RollbackCanary', data: { by: 'rollback', cause: 'rollback_service' } }),
      fc.constant<CanaryCommand>({ type: 'AbortCanary', data: { by: 'op' } }),
      fc.constant<CanaryCommand>({ type: 'PauseCanary', data: { by: 'op' } }),
      fc.constant<CanaryCommand>({ type: 'ResumeCanary', data: { by: 'op' } }),
      fc.constant<CanaryCommand>({ type: 'RecordTrigger', data: { executionId: 'x' } }),
      fc.constant('step' as const),
      fc.constant('bad-window' as const),
      fc.constant('good-window' as const),
      fc.constant('tick' as const),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const life = started({ onRegression: 'rollback' });
        let t = 10;
        for (const next of commands) {
          t += 30;
          const before = life.canary;
          const terminal = ['promoted', 'rolled_back', 'cancelled'].includes(before.status);
          let events: CanaryEvent[] = [];
          try {
            if (next === 'step') {
              const action = nextAction(before, at(t).getTime(), 0);
              if (action.kind === 'apply')
                events = life.run(
                  { type: 'RecordStep', data: { step: action.step, flagVersion: 1, changes: [] } },
                  at(t),
                );
            } else if (next === 'bad-window' || next === 'good-window') {
              const canary = next === 'bad-window' ? counts(100, 30) : counts(500, 5);
              events = life.run(
                { type: 'Observe', data: { window: windowOf(before, t, canary, counts(500, 5)) } },
                at(t),
              );
            } else if (next === 'tick') {
              events = life.run({ type: 'Observe', data: {} }, at(t));
            } else events = life.run(next, at(t));
          } catch (error) {
            if (!(error instanceof CanaryError)) throw error;
          }
          if (terminal && before.status !== 'promoted') expect(events).toEqual([]);
          const steps = life.canary.appliedSteps;
          expect(new Set(steps).size).toBe(steps.length);
        }
      }),
      { numRuns: 200, seed: 10 },
    );
  });
});

describe(planCanary.name, () => {
  const problemsOf = (payload: Partial<CreateCanaryPayload>, flag: FlagDefinition | null = FLAG): string[] => {
    try {
      planCanary(
        { flagKey: 'checkout', name: 'n', strategy: 'percentage', ...payload } as CreateCanaryPayload,
        'c1',
        flag,
      );
    } catch (error) {
      const details = (error as CanaryError).details as { problems?: Array<{ path: string }> } | undefined;
      return details?.problems?.map((p) => p.path) ?? [(error as CanaryError).code];
    }
    return [];
  };

  it("takes the seed's request as is, with the seed's criteria turned into the judge's bounds", () => {
    const canary = planCanary(
      {
        flagKey: 'checkout',
        name: 'Auto Submit Canary',
        strategy: 'percentage',
        targetPercentage: 10,
        monitoringDurationHours: 24,
        successCriteria: { minSuccessRate: 0.95, maxErrorRate: 0.05, maxResponseTimeMs: 2_000 },
        rollbackCriteria: { maxErrorRate: 0.1, minSuccessRate: 0.8, maxResponseTimeMs: 5_000 },
      },
      'c1',
      FLAG,
    );
    expect(canary).toMatchObject({
      environment: 'production',
      environments: ['production'],
      stages: [{ percentage: 10, minDurationMinutes: 24 * 60 }],
      judge: {
        alpha: 0.01,
        safeAlpha: 0.05,
        tolerance: 2,
        slowMs: 5_000,
        safeSlowMs: 2_000,
        maxErrorRate: 0.1,
        safeMaxErrorRate: 0.05,
      },
      policy: { onRegression: 'rollback', onInconclusive: 'hold', autoPromote: true },
      cohorts: { canaryVariant: 'on', baselineVariant: 'off' },
    });
  });

  it('plans a default gradual ramp up to its target inside the monitoring duration', () => {
    expect(
      planCanary(
        { flagKey: 'checkout', name: 'n', strategy: 'gradual', targetPercentage: 25, monitoringDurationHours: 3 },
        'c1',
        FLAG,
      ).stages,
    ).toEqual([
      { percentage: 5, minDurationMinutes: 60 },
      { percentage: 10, minDurationMinutes: 60 },
      { percentage: 25, minDurationMinutes: 60 },
    ]);
  });

  it.each<[string, Partial<CreateCanaryPayload>, string[]]>([
    ['a percentage above 50', { targetPercentage: 60 }, ['targetPercentage']],
    ['a percentage below 1', { targetPercentage: 0.5 }, ['targetPercentage']],
    ['an unknown criterion', { successCriteria: { maxErrorRate: 0.05, p99: 3 } as never }, ['successCriteria.p99']],
    ['a rate of 1.5', { rollbackCriteria: { maxErrorRate: 1.5 } }, ['rollbackCriteria.maxErrorRate']],
    [
      'rollback criteria stricter than success criteria',
      { successCriteria: { maxErrorRate: 0.1 }, rollbackCriteria: { maxErrorRate: 0.05 } },
      ['rollbackCriteria'],
    ],
    [
      'a response time the histogram cannot judge',
      { rollbackCriteria: { maxResponseTimeMs: 60_000 } },
      ['rollbackCriteria.maxResponseTimeMs'],
    ],
    ['stages on a percentage canary', { stages: [{ percentage: 5, minDurationMinutes: 1 }] }, ['stages']],
    [
      'decreasing stages',
      {
        strategy: 'gradual',
        stages: [
          { percentage: 20, minDurationMinutes: 1 },
          { percentage: 10, minDurationMinutes: 1 },
        ],
      },
      ['stages[1].percentage'],
    ],
    [
      'stages longer than the monitoring',
      {
        strategy: 'gradual',
        monitoringDurationHours: 1,
        stages: [
          { percentage: 5, minDurationMinutes: 50 },
          { percentage: 10, minDurationMinutes: 50 },
        ],
      },
      ['stages'],
    ],
    ['a user list canary without users', { strategy: 'user_list' }, ['targetUsers']],
    ['an environment canary without environments', { strategy: 'environment' }, ['targetEnvironments']],
    ['A/B on a boolean flag', { strategy: 'ab_test' }, ['strategy']],
  ])('refuses %s', (_, payload, paths) => {
    expect(problemsOf(payload)).toEqual(paths);
  });

  it('refuses unknown and archived flags with their own codes', () => {
    expect(problemsOf({}, null)).toEqual(['CANARY.FLAG_NOT_FOUND']);
    expect(problemsOf({}, { ...FLAG, archived: true })).toEqual(['CANARY.FLAG_ARCHIVED']);
  });

  it('compares two variants of an experiment flag in an A/B canary', () => {
    const experiment: FlagDefinition = {
      ...FLAG,
      type: 'experiment',
      offVariant: 'control',
      variants: [
        { key: 'control', weight: 50 },
        { key: 'treatment', weight: 50 },
      ],
    };
    expect(
      planCanary({ flagKey: 'checkout', name: 'n', strategy: 'ab_test', targetPercentage: 50 }, 'c1', experiment)
        .cohorts,
    ).toEqual({
      canaryVariant: 'treatment',
      baselineVariant: 'control',
      canaryEnvironments: ['production'],
      baselineEnvironments: ['production'],
    });
    expect(problemsOf({ strategy: 'percentage' }, experiment)).toEqual(['strategy']);
  });
});
