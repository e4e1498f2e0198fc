import {
  type CanaryDefinition,
  type CanaryEvent,
  type CanaryState,
  type CanaryWindow,
  type DecisionEvidence,
  type ErrorBody,
  type FlagChange,
  type FlagStep,
  type PriorFlagState,
} from '#rollgate/contracts';
import { verdictOf, type Verdict } from '../judge/canary-judge.js';
import { evolveCanary, type CanaryAggregateState } from './canary.aggregate.js';
import { CanaryError, CanaryErrorCodes } from './canary.errors.js';

/**
 * Commands on one `canary-<id>` stream. The operator's (create, start, promote, rollback, abort) come from the
 * bus; the service's own record what happened outside the stream (a window of outcomes, a flag change applied,
 * the rollback service's answer) and are where the judge decides.
 */
export type CanaryCommand =
  | { type: 'CreateCanary'; data: { canary: CanaryDefinition; by: string } }
  | { type: 'StartCanary'; data: { prior: PriorFlagState; by: string } }
  /** A window of outcomes (or none: a look at the clock), then every decision it makes due. */
  | { type: 'Observe'; data: { window?: CanaryWindow } }
  | { type: 'RecordStep'; data: { step: FlagStep; flagVersion: number; changes: FlagChange[] } }
  | { type: 'RecordStartFailure'; data: { error: ErrorBody } }
  | { type: 'RecordTrigger'; data: { executionId?: string; error?: ErrorBody } }
  | { type: 'PromoteCanary'; data: { by: string; override: boolean; reason?: string } }
  | { type: 'RollbackCanary'; data: { by: string; cause: 'manual' | 'rollback_service'; reason?: string } }
  | { type: 'AbortCanary'; data: { by: string; reason?: string } }
  | { type: 'PauseCanary'; data: { by: string; reason?: string } }
  | { type: 'ResumeCanary'; data: { by: string; reason?: string } };

export type CanaryCommandType = CanaryCommand['type'];

/** Who the canary's own decisions are recorded as. */
export const SYSTEM_ACTOR = 'system:canary';

/** Statuses in which outcome windows are recorded and judged. */
const JUDGING = new Set(['running', 'inconclusive', 'paused']);

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

const requireCanary = (state: CanaryAggregateState, id: string): CanaryState => {
  if (state === null) throw CanaryError.notFound(id);
  return state;
};

export const stageApplied = (state: CanaryState): boolean => state.appliedSteps.includes(`stage-${state.stage}`);

/** The monitoring duration from the start, moved on by every operator pause that ended. */
export const deadlineOf = (state: CanaryState): number | undefined =>
  state.startedAt === undefined
    ? undefined
    : Date.parse(state.startedAt) + state.monitoringDurationHours * HOUR_MS + (state.pausedMs ?? 0);

/** The current stage has been held long enough, with enough canary traffic, and the canary is certified. */
function stageComplete(state: CanaryState, now: Date): boolean {
  if (!stageApplied(state) || state.stageStartedAt === undefined || state.certifiedAt === undefined) return false;
  const stage = state.stages[state.stage]!;
  return (
    now.getTime() - Date.parse(state.stageStartedAt) >= stage.minDurationMinutes * MINUTE_MS &&
    state.stageTotals.canary.requests >= state.policy.minRequests
  );
}

export function evidenceOf(state: CanaryState, verdict: Verdict, now: Date): DecisionEvidence {
  return {
    at: now.toISOString(),
    tests: verdict.tests,
    canary: state.totals.canary,
    baseline: state.totals.baseline,
    windows: state.totals.windows,
    ...(state.lastWindow === undefined
      ? {}
      : { lastWindow: { start: state.lastWindow.start, end: state.lastWindow.end } }),
    stage: state.stage,
  };
}

/** Folds decided events onto the state the next decision of the same command sees. */
const applied = (state: CanaryState, events: readonly CanaryEvent[]): CanaryState =>
  events.reduce<CanaryState>((s, event, i) => evolveCanary(s, event, state.version + i + 1)!, state);

/**
 * The judge's decisions after a window, in order: REGRESSION (rollback or pause, per policy) wins; otherwise the
 * first certificate is recorded; then the stage plan moves (advance, or promote after the last stage) or, past
 * the deadline without a certificate, the canary is INCONCLUSIVE: held (or rolled back, when opted in). Missing
 * telemetry decides nothing until the deadline, and then holds.
 */
function observe(state: CanaryState, window: CanaryWindow | undefined, now: Date): CanaryEvent[] {
  // Windows count from the first flag change on; a later stage's change pending for a moment does not stop them.
  if (!JUDGING.has(state.status) || !state.appliedSteps.includes('stage-0')) return [];
  // An operator's pause holds the judge: nothing is recorded or decided until it resumes.
  if (state.hold !== undefined) return [];
  const events: CanaryEvent[] = [];
  if (window !== undefined && window.canary.batches + window.baseline.batches > 0)
    events.push({ type: 'CanaryWindowRecorded', data: { window } });
  let current = applied(state, events);
  const verdict = verdictOf(current.judge, current.totals.increments);
  const evidence = evidenceOf(current, verdict, now);

  if (verdict.regression !== undefined && current.regression === undefined && current.status !== 'paused') {
    events.push({
      type: 'CanaryRegressionDetected',
      data: {
        decisionId: `${current.id}:regression`,
        metric: verdict.regression.metric,
        action: current.policy.onRegression,
        evidence,
      },
    });
    return events;
  }
  if (verdict.safe && current.certifiedAt === undefined) {
    events.push({ type: 'CanaryCertifiedSafe', data: { evidence } });
    current = applied(state, events);
  }
  if (current.status !== 'running') return events;

  const last = current.stage === current.stages.length - 1;
  if (stageComplete(current, now)) {
    if (!last) {
      const stage = current.stage + 1;
      const percentage = current.stages[stage]!.percentage;
      events.push({
        type: 'CanaryStageAdvanced',
        data: { stage, ...(percentage === undefined ? {} : { percentage }), evidence },
      });
      return events;
    }
    if (current.policy.autoPromote) {
      events.push({
        type: 'CanaryPromotionRequested',
        data: { by: SYSTEM_ACTOR, automatic: true, override: false, evidence },
      });
      return events;
    }
    // Certified through its plan, waiting for an operator's promote: not inconclusive.
    return events;
  }
  if (now.getTime() >= deadlineOf(current)!) {
    events.push({ type: 'CanaryInconclusive', data: { action: current.policy.onInconclusive, evidence } });
  }
  return events;
}

/** Canary commands decided against the current state; time comes in as `now`. */
export function decideCanary(command: CanaryCommand, state: CanaryAggregateState, now: Date): CanaryEvent[] {
  const at = now.toISOString();
  switch (command.type) {
    case 'CreateCanary': {
      if (state !== null) {
        throw new CanaryError(CanaryErrorCodes.alreadyExists, `canary ${command.data.canary.id} already exists`, {
          id: command.data.canary.id,
        });
      }
      return [{ type: 'CanaryCreated', data: { canary: command.data.canary, createdBy: command.data.by, at } }];
    }
    case 'StartCanary': {
      const canary = requireCanary(state, '');
      if (canary.status !== 'created') throw CanaryError.invalidState(canary.id, canary.status, 'start');
      return [{ type: 'CanaryStarted', data: { prior: command.data.prior, startedBy: command.data.by, at } }];
    }
    case 'Observe':
      return state === null ? [] : observe(state, command.data.window, now);
    case 'RecordStep': {
      if (state === null || state.appliedSteps.includes(command.data.step)) return [];
      const { step, flagVersion, changes } = command.data;
      if (step === 'promote')
        return state.status === 'promoting' ? [{ type: 'CanaryPromoted', data: { flagVersion, changes, at } }] : [];
      if (step === 'restore') {
        if (state.status !== 'rolling_back') return [];
        if (state.rollback?.cause === 'aborted') {
          const { by, reason } = state.rollback;
          return [
            {
              type: 'CanaryCancelled',
              data: { by, ...(reason === undefined ? {} : { reason }), restored: true, flagVersion, changes, at },
            },
          ];
        }
        const cause = state.rollback!.cause;
        const decisionId = state.regression?.decisionId;
        return [
          {
            type: 'CanaryRolledBack',
            data: { cause, ...(decisionId === undefined ? {} : { decisionId }), flagVersion, changes, at },
          },
        ];
      }
      const stage = Number(step.slice('stage-'.length));
      if (!JUDGING.has(state.status) || stage !== state.stage) return [];
      return [{ type: 'CanaryFlagChanged', data: { step, stage, flagVersion, changes, at } }];
    }
    case 'RecordStartFailure': {
      if (state === null || state.status !== 'running' || state.appliedSteps.includes('stage-0')) return [];
      return [{ type: 'CanaryStartFailed', data: { error: command.data.error, at } }];
    }
    case 'RecordTrigger': {
      if (state === null || state.status !== 'rolling_back' || state.rollback === undefined) return [];
      if (state.rollback.triggeredAt !== undefined || state.rollback.triggerError !== undefined) return [];
      const { executionId, error } = command.data;
      return error === undefined
        ? [{ type: 'CanaryRollbackTriggered', data: { ...(executionId === undefined ? {} : { executionId }), at } }]
        : [{ type: 'CanaryRollbackTriggerFailed', data: { error, at } }];
    }
    case 'PromoteCanary': {
      const canary = requireCanary(state, '');
      const { by, override, reason } = command.data;
      if (canary.status === 'promoting' || canary.status === 'promoted') return [];
      if (!JUDGING.has(canary.status) || !stageApplied(canary))
        throw CanaryError.invalidState(canary.id, canary.status, 'promote');
      const certified = canary.certifiedAt !== undefined && canary.regression === undefined;
      if (!certified && !override) {
        throw new CanaryError(
          CanaryErrorCodes.promotionConflict,
          canary.regression !== undefined
            ? `canary ${canary.id} regressed (${canary.regression.metric}): promote it only with an override`
            : `canary ${canary.id} is not certified safe yet: promote it only with an override`,
          { id: canary.id, certified: canary.certifiedAt !== undefined, regression: canary.regression ?? null },
        );
      }
      const evidence = evidenceOf(canary, verdictOf(canary.judge, canary.totals.increments), now);
      return [
        {
          type: 'CanaryPromotionRequested',
          data: { by, automatic: false, override: !certified, ...(reason === undefined ? {} : { reason }), evidence },
        },
      ];
    }
    case 'RollbackCanary': {
      const canary = requireCanary(state, '');
      const { by, cause, reason } = command.data;
      const because = reason === undefined ? {} : { reason };
      switch (canary.status) {
        case 'created':
          return [{ type: 'CanaryCancelled', data: { by, ...because, restored: false, changes: [], at } }];
        case 'running':
        case 'inconclusive':
        case 'paused':
        case 'promoting':
        case 'promoted':
          return [{ type: 'CanaryRollbackRequested', data: { cause, by, ...because, at } }];
        case 'rolling_back':
          // An automatic rollback the rollback service runs: its end_canary step (or an operator) says restore now.
          return canary.rollback?.cause === 'regression' && canary.rollback.endedBy === undefined
            ? [{ type: 'CanaryEndRequested', data: { by, ...because, at } }]
            : [];
        case 'rolled_back':
        case 'cancelled':
          return [];
        default: {
          const unknown: never = canary.status;
          throw new Error(`unknown status ${String(unknown)}`);
        }
      }
    }
    case 'AbortCanary': {
      const canary = requireCanary(state, '');
      const { by, reason } = command.data;
      const because = reason === undefined ? {} : { reason };
      if (canary.status === 'created')
        return [{ type: 'CanaryCancelled', data: { by, ...because, restored: false, changes: [], at } }];
      if (canary.status === 'promoted')
        throw CanaryError.invalidState(canary.id, canary.status, 'abort (roll it back instead)');
      if (canary.status === 'rolling_back' || canary.status === 'rolled_back' || canary.status === 'cancelled')
        return [];
      return [{ type: 'CanaryRollbackRequested', data: { cause: 'aborted', by, ...because, at } }];
    }
    case 'PauseCanary': {
      const canary = requireCanary(state, '');
      // Only a canary whose first change landed: a start still in flight could not be cancelled while held.
      if (canary.status !== 'running' || !canary.appliedSteps.includes('stage-0'))
        throw CanaryError.invalidState(canary.id, canary.status, 'pause');
      const { by, reason } = command.data;
      return [{ type: 'CanaryPaused', data: { by, ...(reason === undefined ? {} : { reason }), at } }];
    }
    case 'ResumeCanary': {
      const canary = requireCanary(state, '');
      if (canary.hold === undefined) {
        if (canary.status === 'paused')
          throw new CanaryError(
            CanaryErrorCodes.invalidState,
            `canary ${canary.id} is paused by its regression decision, not by an operator: promote it with an override or roll it back`,
            { id: canary.id, status: canary.status, command: 'resume', regression: canary.regression ?? null },
          );
        throw CanaryError.invalidState(canary.id, canary.status, 'resume');
      }
      const { by, reason } = command.data;
      const pausedMs = Math.max(0, now.getTime() - Date.parse(canary.hold.at));
      return [{ type: 'CanaryResumed', data: { by, ...(reason === undefined ? {} : { reason }), pausedMs, at } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown canary command ${JSON.stringify(unknown)}`);
    }
  }
}
