import type { ErrorBody } from '../envelope.js';
import type {
  CanaryDefinition,
  CanaryWindow,
  DecisionEvidence,
  FlagChange,
  FlagStep,
  InconclusiveAction,
  MetricName,
  PriorFlagState,
  RegressionAction,
  RollbackCause,
} from './canary.model.js';

/**
 * Events of the `canary-<id>` streams, published as `rg.evt.canary.canary.<id>.<type>`. Decisions carry their
 * evidence (counts per cohort, every test's statistic and level, the window): the log explains each one.
 * `CanaryRegressionDetected` is the regression decision other services react to; `CanaryRolledBack` says the flag
 * is back to its pre-canary state.
 */
export interface CanaryEventMap {
  CanaryCreated: { canary: CanaryDefinition; createdBy: string; at: string };
  CanaryStarted: { prior: PriorFlagState; startedBy: string; at: string };
  /** The flag moved between reading its prior state and the first change: nothing was applied. */
  CanaryStartFailed: { error: ErrorBody; at: string };
  /** A stage's flag change applied (stage-0 at start, then each advance). */
  CanaryFlagChanged: { step: FlagStep; stage: number; flagVersion: number; changes: FlagChange[]; at: string };
  CanaryWindowRecorded: { window: CanaryWindow };
  CanaryCertifiedSafe: { evidence: DecisionEvidence };
  CanaryStageAdvanced: { stage: number; percentage?: number; evidence: DecisionEvidence };
  CanaryRegressionDetected: {
    decisionId: string;
    metric: MetricName;
    action: RegressionAction;
    evidence: DecisionEvidence;
  };
  CanaryInconclusive: { action: InconclusiveAction; evidence: DecisionEvidence };
  /** An operator held the canary: the judge decides nothing and the stage clock stops until it resumes. */
  CanaryPaused: { by: string; reason?: string; at: string };
  /** The operator's pause ended after `pausedMs`: the stage's minimum duration and the deadline move by it. */
  CanaryResumed: { by: string; reason?: string; pausedMs: number; at: string };
  CanaryPromotionRequested: {
    by: string;
    automatic: boolean;
    override: boolean;
    reason?: string;
    evidence: DecisionEvidence;
  };
  CanaryPromoted: { flagVersion: number; changes: FlagChange[]; at: string };
  CanaryRollbackRequested: { cause: RollbackCause; by: string; reason?: string; at: string };
  CanaryRollbackTriggered: { executionId?: string; at: string };
  CanaryRollbackTriggerFailed: { error: ErrorBody; at: string };
  /** The rollback service (or an operator) ended a canary whose automatic rollback it was running. */
  CanaryEndRequested: { by: string; reason?: string; at: string };
  CanaryRolledBack: {
    cause: RollbackCause;
    decisionId?: string;
    flagVersion: number;
    changes: FlagChange[];
    at: string;
  };
  CanaryCancelled: {
    by: string;
    reason?: string;
    restored: boolean;
    flagVersion?: number;
    changes: FlagChange[];
    at: string;
  };
}

export type CanaryEventType = keyof CanaryEventMap;

export const CANARY_EVENT_TYPES: readonly CanaryEventType[] = [
  'CanaryCreated',
  'CanaryStarted',
  'CanaryStartFailed',
  'CanaryFlagChanged',
  'CanaryWindowRecorded',
  'CanaryCertifiedSafe',
  'CanaryStageAdvanced',
  'CanaryRegressionDetected',
  'CanaryInconclusive',
  'CanaryPaused',
  'CanaryResumed',
  'CanaryPromotionRequested',
  'CanaryPromoted',
  'CanaryRollbackRequested',
  'CanaryRollbackTriggered',
  'CanaryRollbackTriggerFailed',
  'CanaryEndRequested',
  'CanaryRolledBack',
  'CanaryCancelled',
];

export type CanaryEvent = { [T in CanaryEventType]: { type: T; data: CanaryEventMap[T] } }[CanaryEventType];

export const canaryStreamId = (id: string): string => `canary-${id}`;
