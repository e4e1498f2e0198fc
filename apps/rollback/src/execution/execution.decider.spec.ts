import { evolveExecution, type Execution, type ExecutionEvent, type ExecutionState, type FlagDefinition } from '#rollgate/contracts';
import { emergencySteps, executionSteps } from './default-steps.js';
import { decideExecution, withFirstAttempt, type ExecutionCommand, type ExecutionRequest } from './execution.decider.js';
import { MAX_INTERRUPTED_ATTEMPTS, nextAction, outcomeOf } from './execution.planner.js';

const NOW = new Date('2025-01-01T10:00:00.000Z');

const request = (overrides: Partial<ExecutionRequest> = {}): ExecutionRequest => ({
  id: 'e1',
  type: 'manual',
  scope: 'feature_flag',
  targetId: 'f',
  cause: { kind: 'manual', actor: 'alice', reason: 'why' },
  onFailure: 'stop',
  steps: executionSteps([
    { type: 'disable_feature_flag', config: { flagId: 'f' } },
    { type: 'call_webhook', config: { url: 'http://127.0.0.1:1/h' } },
  ]),
  ...overrides,
});

/** given events, when command, then events: folds with the same evolve the aggregate uses. */
const fold = (events: readonly ExecutionEvent[]): ExecutionState => events.reduce<ExecutionState>((state, event, i) => evolveExecution(state, event, i + 1), null);
const run = (state: ExecutionState, ...commands: ExecutionCommand[]): { state: ExecutionState; events: ExecutionEvent[] } => {
  let current = state;
  const all: ExecutionEvent[] = [];
  for (const command of commands) {
    const events = decideExecution(command, current, NOW);
    all.push(...events);
    current = events.reduce<ExecutionState>((s, e) => evolveExecution(s, e, (s?.version ?? 0) + 1), current);
  }
  return { state: current, events: all };
};
const started = (overrides: Partial<ExecutionRequest> = {}) => run(null, { type: 'RequestExecution', data: { request: request(overrides), holder: null } }).state as Execution;
const stepDone = (state: ExecutionState, index: number) =>
  run(state, { type: 'StartStep', data: { index, operations: [] } }, { type: 'RecordAttempt', data: { index, attempt: 1 } }, { type: 'CompleteStep', data: { index, attempt: 1, durationMs: 5, result: { flags: [] } } }).state;

describe('decideExecution', () => {
  it('requests and starts in one batch, taking the target; a held target is refused unless an emergency preempts a lower one', () => {
    const { events } = run(null, { type: 'RequestExecution', data: { request: request(), holder: null } });
    expect(events.map((e) => e.type)).toEqual(['ExecutionRequested', 'ExecutionStarted']);
    expect(events[1]!.data).toEqual({ at: NOW.toISOString(), scope: 'feature_flag', targetId: 'f', priority: 1 });
    expect(() => run(null, { type: 'RequestExecution', data: { request: request(), holder: { executionId: 'other', priority: 1 } } })).toThrow(
      expect.objectContaining({ code: 'ROLLBACK.TARGET_IN_USE', details: { scope: 'feature_flag', targetId: 'f', executionId: 'other' } }),
    );
    const emergency = run(null, { type: 'RequestExecution', data: { request: request({ type: 'emergency' }), holder: { executionId: 'other', priority: 1 } } });
    expect(emergency.events[1]!.data).toMatchObject({ priority: 3, preempts: 'other' });
    expect(() => run(null, { type: 'RequestExecution', data: { request: request({ type: 'emergency' }), holder: { executionId: 'other', priority: 3 } } })).toThrow(
      expect.objectContaining({ code: 'ROLLBACK.TARGET_IN_USE' }),
    );
  });

  it('a scheduled execution waits without the target and fires once; busy at its time, it fails with TARGET_IN_USE', () => {
    const scheduled = run(null, { type: 'RequestExecution', data: { request: request({ type: 'scheduled', scheduledFor: '2025-01-01T11:00:00.000Z' }), holder: null } });
    expect(scheduled.events.map((e) => e.type)).toEqual(['ExecutionRequested']);
    expect(nextAction(scheduled.state, NOW.getTime())).toEqual({ kind: 'wait-until', at: Date.parse('2025-01-01T11:00:00.000Z') });
    expect(nextAction(scheduled.state, Date.parse('2025-01-01T11:00:00.000Z'))).toEqual({ kind: 'fire' });
    const fired = run(scheduled.state, { type: 'FireScheduled', data: { holder: null } });
    expect(fired.events.map((e) => e.type)).toEqual(['ExecutionStarted']);
    expect(run(fired.state, { type: 'FireScheduled', data: { holder: null } }).events).toEqual([]);
    const busy = run(scheduled.state, { type: 'FireScheduled', data: { holder: { executionId: 'x', priority: 1 } } });
    expect(busy.events).toMatchObject([{ type: 'ExecutionFailed', data: { error: { code: 'ROLLBACK.TARGET_IN_USE' } } }]);
  });

  it('records each step in order: start, attempt, outcome; a record out of turn is INVALID_STATE', () => {
    const state = started();
    expect(nextAction(state, NOW.getTime())).toEqual({ kind: 'start-step', index: 0 });
    expect(() => run(state, { type: 'StartStep', data: { index: 1, operations: [] } })).toThrow(expect.objectContaining({ code: 'ROLLBACK.INVALID_STATE' }));
    const attempting = run(state, { type: 'StartStep', data: { index: 0, operations: [{ kind: 'flag' }] } }, { type: 'RecordAttempt', data: { index: 0, attempt: 1 } }).state;
    // The attempt is recorded before its side effect: a crash here leaves it in flight, and the next one is attempt 2.
    expect(nextAction(attempting, NOW.getTime())).toEqual({ kind: 'attempt', index: 0, attempt: 2 });
    expect(() => run(attempting, { type: 'CompleteStep', data: { index: 0, attempt: 2, durationMs: 1, result: null } })).toThrow(expect.objectContaining({ code: 'ROLLBACK.INVALID_STATE' }));
    const done = run(attempting, { type: 'CompleteStep', data: { index: 0, attempt: 1, durationMs: 3, result: { flags: [] } } }).state!;
    expect(done.steps[0]).toMatchObject({ status: 'succeeded', attempts: 1, attemptInFlight: 0, durationMs: 3 });
    expect(() => run(done, { type: 'CompleteStep', data: { index: 0, attempt: 1, durationMs: 3, result: null } })).toThrow(expect.objectContaining({ code: 'ROLLBACK.INVALID_STATE' }));
    expect(nextAction(done, NOW.getTime())).toEqual({ kind: 'start-step', index: 1 });
  });

  it('retries a failed attempt after its backoff; crashes count apart and exhaust only after many', () => {
    const failedOnce = run(started(), { type: 'StartStep', data: { index: 0, operations: [] } }, { type: 'RecordAttempt', data: { index: 0, attempt: 1 } }, {
      type: 'FailAttempt',
      data: { index: 0, attempt: 1, error: { code: 'GENERIC.TIMEOUT', message: 't' }, retryAt: '2025-01-01T10:00:00.200Z' },
    }).state;
    expect(nextAction(failedOnce, NOW.getTime())).toEqual({ kind: 'wait-until', at: Date.parse('2025-01-01T10:00:00.200Z') });
    expect(nextAction(failedOnce, NOW.getTime() + 200)).toEqual({ kind: 'attempt', index: 0, attempt: 2 });
    let crashed = run(started(), { type: 'StartStep', data: { index: 0, operations: [] } }).state;
    for (let attempt = 1; attempt <= MAX_INTERRUPTED_ATTEMPTS; attempt++) crashed = run(crashed, { type: 'RecordAttempt', data: { index: 0, attempt } }).state;
    expect(nextAction(crashed, NOW.getTime())).toEqual({ kind: 'exhausted', index: 0 });
  });

  it('cancel: between steps it ends the execution with the steps that ran; finished ones refuse; emergencies past traffic refuse', () => {
    const midway = stepDone(started(), 0);
    const cancelling = run(midway, { type: 'CancelExecution', data: { actor: 'bob', reason: 'oops' } });
    expect(cancelling.events.map((e) => e.type)).toEqual(['CancelRequested']);
    expect(run(cancelling.state, { type: 'CancelExecution', data: { actor: 'bob' } }).events).toEqual([]);
    expect(nextAction(cancelling.state, NOW.getTime())).toEqual({ kind: 'check-consistency' });
    expect(() => run(cancelling.state, { type: 'StartStep', data: { index: 1, operations: [] } })).toThrow(expect.objectContaining({ code: 'ROLLBACK.INVALID_STATE' }));
    const checked = run(cancelling.state, { type: 'RecordConsistency', data: { verified: true, flags: 1, clients: 0, differences: [] } }).state;
    expect(nextAction(checked, NOW.getTime())).toEqual({ kind: 'finish' });
    const finished = run(checked, { type: 'FinishExecution', data: {} });
    expect(finished.events).toMatchObject([{ type: 'ExecutionCancelled', data: { completedSteps: [0], notRunSteps: [1] } }]);
    expect(() => run(finished.state, { type: 'CancelExecution', data: { actor: 'bob' } })).toThrow(expect.objectContaining({ code: 'ROLLBACK.INVALID_STATE', details: { id: 'e1', status: 'cancelled' } }));
    const emergency = stepDone(started({ type: 'emergency' }), 0);
    expect(() => run(emergency, { type: 'CancelExecution', data: { actor: 'bob' } })).toThrow(expect.objectContaining({ code: 'ROLLBACK.INVALID_STATE' }));
  });

  it('a failed step stops the execution (or compensates the flag steps before it); continueOnFailure goes on', () => {
    const failed = run(stepDone(started(), 0), { type: 'StartStep', data: { index: 1, operations: [] } }, { type: 'RecordAttempt', data: { index: 1, attempt: 1 } }, {
      type: 'FailStep',
      data: { index: 1, error: { code: 'ROLLBACK.WEBHOOK_FAILED', message: 'down' } },
    }).state!;
    expect(outcomeOf(failed)).toEqual({ status: 'failed', error: { code: 'ROLLBACK.WEBHOOK_FAILED', message: 'down' }, failedStep: 1 });
    expect(nextAction(failed, NOW.getTime())).toEqual({ kind: 'check-consistency' });
    const compensating = { ...failed, onFailure: 'compensate' as const };
    expect(nextAction(compensating, NOW.getTime())).toEqual({ kind: 'compensate', index: 0 });
    const tolerant = { ...failed, steps: failed.steps.map((step) => ({ ...step, continueOnFailure: true })) };
    expect(outcomeOf(tolerant)).toEqual({ status: 'succeeded' });
  });

  it('preemption ends it at once; the attempt in flight may still record its outcome', () => {
    const inFlight = run(started(), { type: 'StartStep', data: { index: 0, operations: [] } }, { type: 'RecordAttempt', data: { index: 0, attempt: 1 } }).state;
    const preempted = run(inFlight, { type: 'PreemptExecution', data: { by: 'e2' } });
    expect(preempted.state).toMatchObject({ status: 'preempted', preemptedBy: 'e2' });
    expect(nextAction(preempted.state, NOW.getTime())).toEqual({ kind: 'none' });
    expect(run(preempted.state, { type: 'CompleteStep', data: { index: 0, attempt: 1, durationMs: 1, result: null } }).state!.steps[0]!.status).toBe('succeeded');
    expect(run(preempted.state, { type: 'PreemptExecution', data: { by: 'e3' } }).events).toEqual([]);
  });

  it('folds from the log alone: replaying the events gives the same state (what a restart resumes from)', () => {
    const { events, state } = run(null, { type: 'RequestExecution', data: { request: request(), holder: null } }, { type: 'StartStep', data: { index: 0, operations: [] } });
    expect(fold(events)).toEqual(state);
  });
});

describe('default steps', () => {
  it('emergency defaults per scope: traffic only, confirmed by a propagation wait (the canary ends)', () => {
    expect(emergencySteps('feature_flag', 'f').map((s) => s.type)).toEqual(['disable_feature_flag', 'wait_for_propagation']);
    expect(emergencySteps('environment', 'qa').map((s) => s.type)).toEqual(['disable_environment', 'wait_for_propagation']);
    expect(emergencySteps('environment', 'qa', { asOf: '2025-01-01T00:00:00Z' })[0]).toEqual({ type: 'restore_environment', config: { environment: 'qa', asOf: '2025-01-01T00:00:00Z' } });
    expect(emergencySteps('system_wide', 'system', { asOf: '2025-01-01T00:00:00Z' })[0]!.type).toBe('restore_system');
    expect(emergencySteps('user_group', 'beta')[0]).toEqual({ type: 'remove_user_group', config: { segment: 'beta' } });
    expect(emergencySteps('canary_deployment', 'c1')).toEqual([{ type: 'end_canary', config: { canaryId: 'c1', outcome: 'rolled_back' } }]);
  });

  it('inserts a propagation wait before the first capacity step after flag steps (traffic first, capacity second)', () => {
    const steps = executionSteps([
      { type: 'disable_feature_flag', config: { flagId: 'f' } },
      { type: 'restart_service', config: { serviceName: 'api' } },
      { type: 'scale_service', config: { serviceName: 'api', replicas: 0 } },
    ]);
    expect(steps.map((s) => `${s.type}${s.inserted ? '*' : ''}`)).toEqual(['disable_feature_flag', 'wait_for_propagation*', 'restart_service', 'scale_service']);
    expect(executionSteps([{ type: 'disable_feature_flag', config: { flagId: 'f' } }, { type: 'wait_for_propagation', config: {} }, { type: 'restart_service', config: { serviceName: 'a' } }]).some((s) => s.inserted)).toBe(false);
  });
});

describe(withFirstAttempt.name, () => {
  const flag = { key: 'f', name: 'f', type: 'boolean', version: 3, environments: { production: { enabled: true, defaultRollout: { type: 'all_users' } } } } as unknown as FlagDefinition;
  const requested = (holder: { executionId: string; priority: number } | null) =>
    decideExecution({ type: 'RequestExecution', data: { request: request({ type: 'emergency', steps: executionSteps(emergencySteps('feature_flag', 'f')) }), holder } }, null, NOW);

  it("records an emergency's first step start and attempt 1 in the request's batch; the executor's next action is that attempt's outcome", () => {
    const events = withFirstAttempt(requested(null), flag, NOW);
    expect(events.map((e) => e.type)).toEqual(['ExecutionRequested', 'ExecutionStarted', 'StepStarted', 'StepAttempted']);
    expect(events[2]!.data).toMatchObject({ index: 0, operations: [{ kind: 'flag', verb: 'toggle', commandId: 'rb:e1:0:0', payload: { key: 'f', environment: 'production', enabled: false } }] });
    const state = fold(events) as Execution;
    expect(state.steps[0]).toMatchObject({ status: 'running', attempts: 1, attemptInFlight: 1 });
    // A crash before the toggle: resumed as an interrupted attempt, with the same command id.
    expect(nextAction(state, NOW.getTime())).toEqual({ kind: 'attempt', index: 0, attempt: 2 });
  });

  it('leaves the batch alone when the emergency preempts another execution, or the step cannot be planned from the flag', () => {
    expect(withFirstAttempt(requested({ executionId: 'other', priority: 1 }), flag, NOW).map((e) => e.type)).toEqual(['ExecutionRequested', 'ExecutionStarted']);
    const scheduled = decideExecution({ type: 'RequestExecution', data: { request: request({ scheduledFor: '2025-01-01T11:00:00.000Z' }), holder: null } }, null, NOW);
    expect(withFirstAttempt(scheduled, flag, NOW)).toEqual(scheduled);
    const webhookFirst = decideExecution(
      { type: 'RequestExecution', data: { request: request({ steps: executionSteps([{ type: 'call_webhook', config: { url: 'http://127.0.0.1:1/h' } }]) }), holder: null } },
      null,
      NOW,
    );
    expect(withFirstAttempt(webhookFirst, flag, NOW)).toEqual(webhookFirst);
  });
});
