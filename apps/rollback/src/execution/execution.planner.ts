import { TERMINAL_STATUSES, TRAFFIC_STEPS, type ErrorBody, type Execution, type StepRun } from '#rollgate/contracts';

/** What the executor does next for an execution: derived from its folded state alone, so a restart resumes exactly. */
export type NextAction =
  | { kind: 'none' }
  | { kind: 'wait-until'; at: number }
  | { kind: 'fire' }
  | { kind: 'start-step'; index: number }
  | { kind: 'attempt'; index: number; attempt: number }
  /** Attempts cut short by crashes used up the step's budget: fail it rather than loop. */
  | { kind: 'exhausted'; index: number }
  | { kind: 'compensate'; index: number }
  | { kind: 'check-consistency' }
  | { kind: 'finish' };

/** Attempts a step gets in all (a crashed attempt counts: a step that kills the process must not loop). */
export const maxAttemptsOf = (step: Pick<StepRun, 'type' | 'config'>): number => {
  if (step.type === 'call_webhook') return (step.config as { maxAttempts?: number }).maxAttempts ?? 3;
  if (step.type === 'wait_for_propagation') return 2;
  return 5;
};

/**
 * Attempts cut short (recorded, then no outcome: the process died or lost leadership) a step may have before it
 * fails: counted apart from failed attempts, so a few crashes never fail a healthy step, and a step that itself
 * kills the process does not loop forever.
 */
export const MAX_INTERRUPTED_ATTEMPTS = 10;

/** Attempts that ended with an error, and attempts cut short. */
export const attemptCounts = (step: Pick<StepRun, 'attempts' | 'attemptErrors' | 'attemptInFlight'>): { failed: number; interrupted: number } => {
  const failed = step.attemptErrors.length;
  return { failed, interrupted: step.attempts - failed };
};

/** Backoff before attempt `attempt + 1`: 200 ms doubling, at most 5 s. */
export const retryDelayMs = (attempt: number): number => Math.min(200 * 2 ** (attempt - 1), 5_000);

/** Flag steps can be compensated (restored to the version before them); the others have nothing to undo. */
export const isCompensable = (step: StepRun): boolean => TRAFFIC_STEPS.has(step.type);

/** The step that stops the execution: failed, and not marked continueOnFailure. */
export const blockingFailure = (state: Execution): StepRun | undefined =>
  state.steps.find((step) => step.status === 'failed' && !step.continueOnFailure);

export function nextAction(state: Execution | null, now: number): NextAction {
  if (state === null || TERMINAL_STATUSES.has(state.status)) return { kind: 'none' };
  if (state.status === 'scheduled') {
    const at = Date.parse(state.scheduledFor ?? state.requestedAt);
    return now >= at ? { kind: 'fire' } : { kind: 'wait-until', at };
  }
  const running = state.steps.find((step) => step.status === 'running');
  if (running !== undefined) {
    if (running.retryAt !== undefined && running.attemptInFlight === 0 && now < Date.parse(running.retryAt)) {
      return { kind: 'wait-until', at: Date.parse(running.retryAt) };
    }
    const { failed, interrupted } = attemptCounts(running);
    const exhausted = failed >= maxAttemptsOf(running) || interrupted >= MAX_INTERRUPTED_ATTEMPTS;
    return exhausted ? { kind: 'exhausted', index: running.index } : { kind: 'attempt', index: running.index, attempt: running.attempts + 1 };
  }
  const failed = blockingFailure(state);
  if (failed !== undefined) {
    if (state.onFailure === 'compensate') {
      const toUndo = [...state.steps].reverse().find((step) => step.status === 'succeeded' && isCompensable(step) && step.compensation === undefined);
      if (toUndo !== undefined) return { kind: 'compensate', index: toUndo.index };
    }
  } else if (state.cancelRequested === undefined) {
    const pending = state.steps.find((step) => step.status === 'pending');
    if (pending !== undefined) return { kind: 'start-step', index: pending.index };
  }
  return state.consistency === undefined ? { kind: 'check-consistency' } : { kind: 'finish' };
}

export type Outcome =
  | { status: 'succeeded' }
  | { status: 'failed'; error: ErrorBody; failedStep: number }
  | { status: 'cancelled'; completedSteps: number[]; notRunSteps: number[] };

/** How an execution ends once nothing is left to do. */
export function outcomeOf(state: Execution): Outcome {
  const failed = blockingFailure(state);
  if (failed !== undefined) return { status: 'failed', error: failed.error ?? { code: 'ROLLBACK.STEP_FAILED', message: 'step failed' }, failedStep: failed.index };
  const notRun = state.steps.filter((step) => step.status === 'pending').map((step) => step.index);
  if (state.cancelRequested !== undefined && notRun.length > 0) {
    return { status: 'cancelled', completedSteps: state.steps.filter((step) => step.status !== 'pending').map((step) => step.index), notRunSteps: notRun };
  }
  return { status: 'succeeded' };
}
