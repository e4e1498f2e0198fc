import type { ExecutionEvent, PlanEvent } from './rollback.events.js';
import type { Execution, RollbackPlan, StepRun } from './rollback.model.js';

export type PlanState = RollbackPlan | null;
export type ExecutionState = Execution | null;

/** Folds one plan event (pure and total, like `evolveFlag`). */
export function evolvePlan(state: PlanState, event: PlanEvent, version: number): PlanState {
  switch (event.type) {
    case 'PlanCreated':
      return { ...event.data.plan, archived: false, version };
    case 'PlanUpdated':
      return state === null ? state : { ...state, ...event.data.changes, version };
    case 'PlanArchived':
      return state === null ? state : { ...state, archived: true, version };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

const updateStep = (state: Execution, index: number, change: (step: StepRun) => StepRun): Execution => ({
  ...state,
  steps: state.steps.map((step) => (step.index === index ? change(step) : step)),
});

const elapsed = (from: string | undefined, to: string): number | undefined =>
  from === undefined ? undefined : Math.max(0, Date.parse(to) - Date.parse(from));

/** Folds one execution event: the saga's state is this fold over `rollback-<id>`, nothing else. */
export function evolveExecution(state: ExecutionState, event: ExecutionEvent, version: number): ExecutionState {
  if (event.type === 'ExecutionRequested') {
    const { steps, scheduledFor, planId, planVersion, ...rest } = event.data;
    return {
      ...rest,
      ...(planId === undefined ? {} : { planId }),
      ...(planVersion === undefined ? {} : { planVersion }),
      ...(scheduledFor === undefined ? {} : { scheduledFor }),
      status: 'scheduled',
      steps: steps.map((step, index) => ({
        index,
        type: step.type,
        config: step.config,
        continueOnFailure: step.continueOnFailure ?? false,
        ...(step.inserted ? { inserted: true } : {}),
        status: 'pending',
        attempts: 0,
        attemptInFlight: 0,
        attemptErrors: [],
      })),
      version,
    };
  }
  if (state === null) return state;
  const next = ((): Execution => {
    switch (event.type) {
      case 'ExecutionStarted':
        return { ...state, status: 'running', startedAt: event.data.at, ...(event.data.preempts ? { preempts: event.data.preempts } : {}) };
      case 'StepStarted':
        return updateStep(state, event.data.index, (step) => ({ ...step, status: 'running', startedAt: event.data.at, operations: event.data.operations }));
      case 'StepAttempted':
        return updateStep(state, event.data.index, (step) => {
          const { retryAt: _retryAt, ...rest } = step;
          return { ...rest, attempts: event.data.attempt, attemptInFlight: event.data.attempt };
        });
      case 'StepAttemptFailed':
        return updateStep(state, event.data.index, (step) => ({
          ...step,
          attemptInFlight: 0,
          attemptErrors: [...step.attemptErrors, { attempt: event.data.attempt, at: event.data.at, error: event.data.error }],
          ...(event.data.retryAt === undefined ? {} : { retryAt: event.data.retryAt }),
        }));
      case 'StepSucceeded':
        return updateStep(state, event.data.index, (step) => ({
          ...step,
          status: 'succeeded',
          attemptInFlight: 0,
          finishedAt: event.data.at,
          durationMs: event.data.durationMs,
          result: event.data.result,
        }));
      case 'StepFailed':
        return updateStep(state, event.data.index, (step) => {
          const { retryAt: _retryAt, ...rest } = step;
          return {
            ...rest,
            status: 'failed',
            attemptInFlight: 0,
            finishedAt: event.data.at,
            durationMs: event.data.durationMs ?? elapsed(step.startedAt, event.data.at) ?? 0,
            error: event.data.error,
          };
        });
      case 'StepCompensated':
        return updateStep(state, event.data.index, (step) => ({
          ...step,
          ...(event.data.error === undefined ? { status: 'compensated' as const } : {}),
          compensation: {
            at: event.data.at,
            ...(event.data.result === undefined ? {} : { result: event.data.result }),
            ...(event.data.error === undefined ? {} : { error: event.data.error }),
          },
        }));
      case 'CancelRequested':
        return { ...state, cancelRequested: event.data };
      case 'ExecutionPreempted':
        return { ...state, status: 'preempted', preemptedBy: event.data.by, finishedAt: event.data.at };
      case 'ConsistencyVerified':
        return { ...state, consistency: { verified: true, ...event.data } };
      case 'ConsistencyViolated':
        return { ...state, consistency: { verified: false, ...event.data } };
      case 'ExecutionSucceeded':
        return { ...state, status: 'succeeded', finishedAt: event.data.at, ...recovery(event.data.recoveryMs) };
      case 'ExecutionFailed':
        return { ...state, status: 'failed', finishedAt: event.data.at, error: event.data.error, ...recovery(event.data.recoveryMs) };
      case 'ExecutionCancelled':
        return { ...state, status: 'cancelled', finishedAt: event.data.at, ...recovery(event.data.recoveryMs) };
      default: {
        const unknown: never = event;
        return unknown;
      }
    }
  })();
  return { ...next, version };
}

const recovery = (recoveryMs: number | undefined) => (recoveryMs === undefined ? {} : { recoveryMs });
