import { applyDecided } from '#rollgate/commands';
import {
  PRIORITY,
  TERMINAL_STATUSES,
  TRAFFIC_STEPS,
  type ConsistencyReport,
  type ErrorBody,
  type Execution,
  type ExecutionEvent,
  type ExecutionEventMap,
  type ExecutionState,
  type FlagDefinition,
} from '#rollgate/contracts';
import { executionAggregate } from '../rollback.aggregates.js';
import { RollbackError, RollbackErrorCodes } from '../rollback.errors.js';
import { factsNeeded, planOperations } from '../steps/step-planning.js';
import { MAX_INTERRUPTED_ATTEMPTS, maxAttemptsOf, outcomeOf } from './execution.planner.js';

/** Who holds the execution's target now (rollback.active_targets), loaded by the service before deciding. */
export interface TargetHolder {
  executionId: string;
  priority: number;
}

export type ExecutionRequest = Omit<ExecutionEventMap['ExecutionRequested'], 'priority' | 'requestedAt'>;

export type ExecutionCommand =
  | { type: 'RequestExecution'; data: { request: ExecutionRequest; holder: TargetHolder | null } }
  | { type: 'FireScheduled'; data: { holder: TargetHolder | null } }
  | { type: 'StartStep'; data: { index: number; operations: unknown[] } }
  | { type: 'RecordAttempt'; data: { index: number; attempt: number } }
  | { type: 'FailAttempt'; data: { index: number; attempt: number; error: ErrorBody; retryAt: string } }
  | { type: 'CompleteStep'; data: { index: number; attempt: number; durationMs: number; result: unknown } }
  | { type: 'FailStep'; data: { index: number; error: ErrorBody; durationMs?: number } }
  | { type: 'CompensateStep'; data: { index: number; result?: unknown; error?: ErrorBody } }
  | { type: 'CancelExecution'; data: { actor: string; reason?: string } }
  | { type: 'PreemptExecution'; data: { by: string } }
  | { type: 'RecordConsistency'; data: Omit<ConsistencyReport, 'at'> }
  | { type: 'FinishExecution'; data: { recoveryMs?: number } };

const iso = (now: Date): string => now.toISOString();

function requireExecution(state: ExecutionState, id: string): Execution {
  if (state === null) throw RollbackError.executionNotFound(id);
  return state;
}

function requireRunning(state: Execution, command: string): void {
  if (state.status !== 'running') {
    throw RollbackError.invalidState(`execution ${state.id} is ${state.status}: ${command} refused`, { id: state.id, status: state.status });
  }
}

function requireStep(state: Execution, index: number, status: string, command: string) {
  const step = state.steps[index];
  if (step === undefined || step.status !== status) {
    throw RollbackError.invalidState(`step ${index} of ${state.id} is ${step?.status ?? 'absent'}: ${command} refused`, { id: state.id, index, status: step?.status });
  }
  return step;
}

/** The start: the target taken from a lower-priority holder only by an emergency, else refused as in use. */
function start(id: string, type: Execution['type'], scope: Execution['scope'], targetId: string, holder: TargetHolder | null, now: Date) {
  const priority = PRIORITY[type];
  if (holder !== null && holder.executionId !== id) {
    if (type !== 'emergency' || holder.priority >= priority) {
      throw new RollbackError(RollbackErrorCodes.targetInUse, `${scope} ${targetId} is being rolled back by execution ${holder.executionId}`, {
        scope,
        targetId,
        executionId: holder.executionId,
      });
    }
    return { at: iso(now), scope, targetId, priority, preempts: holder.executionId };
  }
  return { at: iso(now), scope, targetId, priority };
}

/**
 * The saga's decisions, pure: the executor (execution.runner.ts) asks `nextAction` what to do, does it, and records
 * it through these commands. Every command checks the state it expects (the step's status, the attempt number), so
 * a second runner or a replayed reply can never record a step twice: it gets INVALID_STATE and reloads.
 */
export function decideExecution(command: ExecutionCommand, state: ExecutionState, now: Date): ExecutionEvent[] {
  switch (command.type) {
    case 'RequestExecution': {
      const { request, holder } = command.data;
      if (state !== null) throw RollbackError.invalidState(`execution ${request.id} already exists`, { id: request.id, status: state.status });
      const requested: ExecutionEvent = { type: 'ExecutionRequested', data: { ...request, priority: PRIORITY[request.type], requestedAt: iso(now) } };
      if (request.scheduledFor !== undefined) return [requested];
      return [requested, { type: 'ExecutionStarted', data: start(request.id, request.type, request.scope, request.targetId, holder, now) }];
    }
    case 'FireScheduled': {
      if (state === null || state.status !== 'scheduled') return [];
      try {
        return [{ type: 'ExecutionStarted', data: start(state.id, state.type, state.scope, state.targetId, command.data.holder, now) }];
      } catch (error) {
        if (!(error instanceof RollbackError)) throw error;
        return [{ type: 'ExecutionFailed', data: { at: iso(now), error: error.toJSON() } }];
      }
    }
    case 'StartStep': {
      const execution = requireExecution(state, '');
      requireRunning(execution, 'StartStep');
      const { index, operations } = command.data;
      requireStep(execution, index, 'pending', 'StartStep');
      const earlier = execution.steps.slice(0, index).find((step) => step.status === 'pending' || step.status === 'running');
      if (earlier !== undefined) throw RollbackError.invalidState(`step ${earlier.index} of ${execution.id} comes first`, { id: execution.id, index });
      if (execution.cancelRequested !== undefined) throw RollbackError.invalidState(`execution ${execution.id} is being cancelled`, { id: execution.id });
      return [{ type: 'StepStarted', data: { index, at: iso(now), operations } }];
    }
    case 'RecordAttempt': {
      const execution = requireExecution(state, '');
      requireRunning(execution, 'RecordAttempt');
      const step = requireStep(execution, command.data.index, 'running', 'RecordAttempt');
      if (command.data.attempt !== step.attempts + 1 || command.data.attempt > maxAttemptsOf(step) + MAX_INTERRUPTED_ATTEMPTS) {
        throw RollbackError.invalidState(`attempt ${command.data.attempt} of step ${step.index} is not the next`, { id: execution.id, attempts: step.attempts });
      }
      return [{ type: 'StepAttempted', data: { index: step.index, attempt: command.data.attempt, at: iso(now) } }];
    }
    case 'FailAttempt':
    case 'CompleteStep': {
      const execution = requireExecution(state, '');
      const step = requireStep(execution, command.data.index, 'running', command.type);
      if (step.attemptInFlight !== command.data.attempt) {
        throw RollbackError.invalidState(`attempt ${command.data.attempt} of step ${step.index} is not in flight`, { id: execution.id, attemptInFlight: step.attemptInFlight });
      }
      // A preempted execution still records the outcome of the attempt it had in flight: the side effect happened.
      if (command.type === 'CompleteStep') {
        const { index, attempt, durationMs, result } = command.data;
        return [{ type: 'StepSucceeded', data: { index, attempt, at: iso(now), durationMs, result } }];
      }
      const { index, attempt, error, retryAt } = command.data;
      return [{ type: 'StepAttemptFailed', data: { index, attempt, at: iso(now), error, retryAt } }];
    }
    case 'FailStep': {
      const execution = requireExecution(state, '');
      const step = requireStep(execution, command.data.index, 'running', 'FailStep');
      const durationMs = command.data.durationMs ?? Math.max(0, now.getTime() - Date.parse(step.startedAt ?? iso(now)));
      return [{ type: 'StepFailed', data: { index: step.index, at: iso(now), durationMs, error: command.data.error } }];
    }
    case 'CompensateStep': {
      const execution = requireExecution(state, '');
      requireRunning(execution, 'CompensateStep');
      const step = requireStep(execution, command.data.index, 'succeeded', 'CompensateStep');
      if (step.compensation !== undefined) return [];
      const { result, error } = command.data;
      return [{ type: 'StepCompensated', data: { index: step.index, at: iso(now), ...(result === undefined ? {} : { result }), ...(error === undefined ? {} : { error }) } }];
    }
    case 'CancelExecution': {
      const execution = requireExecution(state, '');
      if (TERMINAL_STATUSES.has(execution.status)) {
        throw RollbackError.invalidState(`execution ${execution.id} is already ${execution.status}`, { id: execution.id, status: execution.status });
      }
      if (execution.cancelRequested !== undefined) return [];
      if (execution.type === 'emergency' && execution.steps.some((step) => TRAFFIC_STEPS.has(step.type) && step.status === 'succeeded')) {
        throw RollbackError.invalidState(`emergency execution ${execution.id} changed traffic already and cannot be cancelled`, {
          id: execution.id,
          status: execution.status,
        });
      }
      const requested: ExecutionEvent = {
        type: 'CancelRequested',
        data: { at: iso(now), actor: command.data.actor, ...(command.data.reason === undefined ? {} : { reason: command.data.reason }) },
      };
      if (execution.status !== 'scheduled') return [requested];
      return [requested, { type: 'ExecutionCancelled', data: { at: iso(now), completedSteps: [], notRunSteps: execution.steps.map((step) => step.index) } }];
    }
    case 'PreemptExecution': {
      if (state === null || TERMINAL_STATUSES.has(state.status)) return [];
      return [{ type: 'ExecutionPreempted', data: { at: iso(now), by: command.data.by } }];
    }
    case 'RecordConsistency': {
      const execution = requireExecution(state, '');
      requireRunning(execution, 'RecordConsistency');
      if (execution.consistency !== undefined) return [];
      const { verified, ...report } = command.data;
      return [{ type: verified ? 'ConsistencyVerified' : 'ConsistencyViolated', data: { at: iso(now), ...report } }];
    }
    case 'FinishExecution': {
      const execution = requireExecution(state, '');
      if (TERMINAL_STATUSES.has(execution.status)) return [];
      requireRunning(execution, 'FinishExecution');
      if (execution.steps.some((step) => step.status === 'running')) throw RollbackError.invalidState(`execution ${execution.id} has a step running`, { id: execution.id });
      const recovery = command.data.recoveryMs === undefined ? {} : { recoveryMs: command.data.recoveryMs };
      const outcome = outcomeOf(execution);
      switch (outcome.status) {
        case 'succeeded':
          return [{ type: 'ExecutionSucceeded', data: { at: iso(now), ...recovery } }];
        case 'failed':
          return [{ type: 'ExecutionFailed', data: { at: iso(now), error: outcome.error, failedStep: outcome.failedStep, ...recovery } }];
        case 'cancelled':
          return [{ type: 'ExecutionCancelled', data: { at: iso(now), completedSteps: outcome.completedSteps, notRunSteps: outcome.notRunSteps, ...recovery } }];
        default: {
          const unknown: never = outcome;
          throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
        }
      }
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * An emergency's first flag step started and its attempt 1 recorded in the request's own batch (one append before
 * the toggle instead of three): the same decisions the executor would make next, on the state the request leaves,
 * so every check holds. Not when the emergency preempts another execution (it first waits for that one's step in
 * flight, so their flag changes never interleave), nor when the step cannot be planned from the flag (the executor
 * plans it and records the failure).
 */
export function withFirstAttempt(requested: ExecutionEvent[], flag: FlagDefinition, now: Date): ExecutionEvent[] {
  const started = requested.find((event) => event.type === 'ExecutionStarted');
  if (started === undefined || started.data.preempts !== undefined) return requested;
  let folded = applyDecided(executionAggregate, { state: null as ExecutionState, version: 0 }, requested);
  const step = folded.state?.steps[0];
  if (folded.state === null || step === undefined || factsNeeded(step) !== 'flag') return requested;
  let operations: unknown[];
  try {
    operations = planOperations(step, folded.state, { at: now.toISOString(), flag });
  } catch {
    return requested;
  }
  const stepStarted = decideExecution({ type: 'StartStep', data: { index: step.index, operations } }, folded.state, now);
  folded = applyDecided(executionAggregate, folded, stepStarted);
  const attempted = decideExecution({ type: 'RecordAttempt', data: { index: step.index, attempt: 1 } }, folded.state, now);
  return [...requested, ...stepStarted, ...attempted];
}
