import {
  CANARY_EVENT_TYPES,
  type CanaryEvent,
  type CanaryState,
  type CanaryStatus,
  type CohortCounts,
  type FlagStep,
} from '#rollgate/contracts';
import type { AggregateType } from '#rollgate/commands';
import { addCounts, addIncrements, emptyCounts, emptyIncrements } from '../judge/canary-judge.js';

export type CanaryAggregateState = CanaryState | null;

const copyCounts = (counts: CohortCounts): CohortCounts => addCounts(emptyCounts(), counts);

const ended = (
  state: CanaryState,
  status: CanaryStatus,
  at: string,
  version: number,
  step?: FlagStep,
  flagVersion?: number,
): CanaryState => ({
  ...state,
  status,
  endedAt: at,
  updatedAt: at,
  version,
  ...(step === undefined ? {} : { appliedSteps: [...state.appliedSteps, step] }),
  ...(flagVersion === undefined ? {} : { lastFlagVersion: flagVersion }),
});

/**
 * The stage clock stops while an operator's pause holds: its start moves on by the time paused, counted from the
 * stage's own start when its flag change landed during the pause.
 */
function resumedStageStart(state: CanaryState, resumedAt: string): string {
  const stageStart = Date.parse(state.stageStartedAt!);
  const held = Date.parse(resumedAt) - Math.max(Date.parse(state.hold?.at ?? resumedAt), stageStart);
  return new Date(stageStart + Math.max(0, held)).toISOString();
}

/**
 * One event applied to a canary, pure: the state is a new object, the one it came from is left as it was (the
 * decider folds its own events onto a state the caller still holds).
 */
export function evolveCanary(state: CanaryAggregateState, event: CanaryEvent, version: number): CanaryAggregateState {
  if (event.type === 'CanaryCreated') {
    const { canary, createdBy, at } = event.data;
    return {
      ...canary,
      status: 'created',
      version,
      createdAt: at,
      createdBy,
      updatedAt: at,
      stage: 0,
      appliedSteps: [],
      totals: { canary: emptyCounts(), baseline: emptyCounts(), increments: emptyIncrements(canary.judge), windows: 0 },
      stageTotals: { canary: emptyCounts(), baseline: emptyCounts() },
    };
  }
  if (state === null) return null;
  const touched = { ...state, version };
  // An operator's promote or rollback of a paused canary ends its pause.
  const { hold: _held, ...released } = touched;
  switch (event.type) {
    case 'CanaryStarted':
      return {
        ...touched,
        status: 'running',
        prior: event.data.prior,
        startedAt: event.data.at,
        startedBy: event.data.startedBy,
        updatedAt: event.data.at,
      };
    case 'CanaryStartFailed':
      return {
        ...ended(state, 'cancelled', event.data.at, version),
        startError: { code: event.data.error.code, message: event.data.error.message },
      };
    case 'CanaryFlagChanged':
      return {
        ...touched,
        stage: event.data.stage,
        stageStartedAt: event.data.at,
        appliedSteps: [...state.appliedSteps, event.data.step],
        lastFlagVersion: event.data.flagVersion,
        stageTotals: { canary: emptyCounts(), baseline: emptyCounts() },
        updatedAt: event.data.at,
      };
    case 'CanaryWindowRecorded': {
      const { window } = event.data;
      return {
        ...touched,
        totals: {
          canary: addCounts(copyCounts(state.totals.canary), window.canary),
          baseline: addCounts(copyCounts(state.totals.baseline), window.baseline),
          increments: addIncrements(
            addIncrements(emptyIncrements(state.judge), state.totals.increments),
            window.increments,
          ),
          windows: state.totals.windows + 1,
        },
        stageTotals: {
          canary: addCounts(copyCounts(state.stageTotals.canary), window.canary),
          baseline: addCounts(copyCounts(state.stageTotals.baseline), window.baseline),
        },
        lastWindow: window,
        updatedAt: window.end,
      };
    }
    case 'CanaryCertifiedSafe':
      return { ...touched, certifiedAt: event.data.evidence.at, updatedAt: event.data.evidence.at };
    case 'CanaryStageAdvanced':
      return { ...touched, stage: event.data.stage, updatedAt: event.data.evidence.at };
    case 'CanaryRegressionDetected': {
      const { decisionId, metric, action, evidence } = event.data;
      const regression = { decisionId, metric, action, at: evidence.at };
      return action === 'rollback'
        ? {
            ...touched,
            status: 'rolling_back',
            regression,
            rollback: { cause: 'regression', by: 'system:canary', requestedAt: evidence.at },
            updatedAt: evidence.at,
          }
        : { ...touched, status: 'paused', regression, updatedAt: evidence.at };
    }
    case 'CanaryInconclusive': {
      const { action, evidence } = event.data;
      return action === 'rollback'
        ? {
            ...touched,
            status: 'rolling_back',
            inconclusiveAt: evidence.at,
            rollback: { cause: 'inconclusive', by: 'system:canary', requestedAt: evidence.at },
            updatedAt: evidence.at,
          }
        : { ...touched, status: 'inconclusive', inconclusiveAt: evidence.at, updatedAt: evidence.at };
    }
    case 'CanaryPaused': {
      const { by, reason, at } = event.data;
      return {
        ...touched,
        status: 'paused',
        hold: { by, at, ...(reason === undefined ? {} : { reason }) },
        updatedAt: at,
      };
    }
    case 'CanaryResumed': {
      return {
        ...released,
        status: 'running',
        pausedMs: (state.pausedMs ?? 0) + event.data.pausedMs,
        ...(state.stageStartedAt === undefined ? {} : { stageStartedAt: resumedStageStart(state, event.data.at) }),
        updatedAt: event.data.at,
      };
    }
    case 'CanaryPromotionRequested': {
      const { by, automatic, override, reason, evidence } = event.data;
      return {
        ...released,
        status: 'promoting',
        promotion: { by, automatic, override, at: evidence.at, ...(reason === undefined ? {} : { reason }) },
        updatedAt: evidence.at,
      };
    }
    case 'CanaryPromoted':
      return ended(state, 'promoted', event.data.at, version, 'promote', event.data.flagVersion);
    case 'CanaryRollbackRequested': {
      const { cause, by, reason, at } = event.data;
      return {
        ...released,
        status: 'rolling_back',
        rollback: { cause, by, requestedAt: at, ...(reason === undefined ? {} : { reason }) },
        updatedAt: at,
      };
    }
    case 'CanaryRollbackTriggered':
      return {
        ...touched,
        rollback: {
          ...state.rollback!,
          triggeredAt: event.data.at,
          ...(event.data.executionId === undefined ? {} : { executionId: event.data.executionId }),
        },
        updatedAt: event.data.at,
      };
    case 'CanaryRollbackTriggerFailed':
      return {
        ...touched,
        rollback: {
          ...state.rollback!,
          triggerError: { code: event.data.error.code, message: event.data.error.message },
        },
        updatedAt: event.data.at,
      };
    case 'CanaryEndRequested':
      return { ...touched, rollback: { ...state.rollback!, endedBy: event.data.by }, updatedAt: event.data.at };
    case 'CanaryRolledBack':
      return ended(state, 'rolled_back', event.data.at, version, 'restore', event.data.flagVersion);
    case 'CanaryCancelled':
      return ended(
        state,
        'cancelled',
        event.data.at,
        version,
        event.data.restored ? 'restore' : undefined,
        event.data.flagVersion,
      );
    default: {
      const unknown: never = event;
      throw new Error(`unknown canary event ${JSON.stringify(unknown)}`);
    }
  }
}

/** The `canary-<id>` streams. */
export const canaryAggregate: AggregateType<CanaryAggregateState, CanaryEvent> = {
  name: 'canary',
  area: 'CANARY',
  eventTypes: new Set(CANARY_EVENT_TYPES),
  initialState: null,
  evolve: evolveCanary,
};
