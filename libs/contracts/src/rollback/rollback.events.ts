import type { ErrorBody } from '../envelope.js';
import type {
  ConsistencyReport,
  ExecutionCause,
  OnFailure,
  RollbackPlan,
  RollbackScope,
  RollbackType,
  StepDefinition,
} from './rollback.model.js';

/**
 * Events of the rollback service's streams, published as `rg.evt.rollback.rollback.<id>.<type>`:
 * `rollback-plan-<id>` (id `plan-<id>` on the subject) and `rollback-<execution id>`.
 */
export interface PlanEventMap {
  PlanCreated: { plan: Omit<RollbackPlan, 'version' | 'archived'> };
  PlanUpdated: { changes: Partial<Omit<RollbackPlan, 'id' | 'version' | 'archived'>> };
  PlanArchived: Record<string, never>;
}

/** A step as the execution carries it (a plan step, or one the service inserted). */
export type ExecutionStep = StepDefinition & { inserted?: boolean };

export interface ExecutionEventMap {
  ExecutionRequested: {
    id: string;
    type: RollbackType;
    scope: RollbackScope;
    targetId: string;
    planId?: string;
    planVersion?: number;
    cause: ExecutionCause;
    priority: number;
    onFailure: OnFailure;
    steps: ExecutionStep[];
    requestedAt: string;
    scheduledFor?: string;
  };
  /** The target is taken (rollback.active_targets, in this append's transaction); `preempts` lost it. */
  ExecutionStarted: { at: string; scope: RollbackScope; targetId: string; priority: number; preempts?: string };
  /** The step's operations are fixed here, before any side effect, so a resumed step does exactly the same. */
  StepStarted: { index: number; at: string; operations: unknown[] };
  /** Recorded before the attempt's side effect: an attempt without an outcome was cut short by a crash. */
  StepAttempted: { index: number; attempt: number; at: string };
  StepAttemptFailed: { index: number; attempt: number; at: string; error: ErrorBody; retryAt?: string };
  StepSucceeded: { index: number; attempt: number; at: string; durationMs: number; result: unknown };
  StepFailed: { index: number; at: string; durationMs?: number; error: ErrorBody };
  StepCompensated: { index: number; at: string; result?: unknown; error?: ErrorBody };
  CancelRequested: { at: string; actor: string; reason?: string };
  ExecutionPreempted: { at: string; by: string };
  ConsistencyVerified: Omit<ConsistencyReport, 'verified'>;
  ConsistencyViolated: Omit<ConsistencyReport, 'verified'>;
  ExecutionSucceeded: { at: string; recoveryMs?: number };
  ExecutionFailed: { at: string; error: ErrorBody; failedStep?: number; recoveryMs?: number };
  ExecutionCancelled: { at: string; completedSteps: number[]; notRunSteps: number[]; recoveryMs?: number };
}

export type PlanEventType = keyof PlanEventMap;
export type ExecutionEventType = keyof ExecutionEventMap;
export type PlanEvent = { [T in PlanEventType]: { type: T; data: PlanEventMap[T] } }[PlanEventType];
export type ExecutionEvent = { [T in ExecutionEventType]: { type: T; data: ExecutionEventMap[T] } }[ExecutionEventType];

export const PLAN_EVENT_TYPES: readonly PlanEventType[] = ['PlanCreated', 'PlanUpdated', 'PlanArchived'];
export const EXECUTION_EVENT_TYPES: readonly ExecutionEventType[] = [
  'ExecutionRequested',
  'ExecutionStarted',
  'StepStarted',
  'StepAttempted',
  'StepAttemptFailed',
  'StepSucceeded',
  'StepFailed',
  'StepCompensated',
  'CancelRequested',
  'ExecutionPreempted',
  'ConsistencyVerified',
  'ConsistencyViolated',
  'ExecutionSucceeded',
  'ExecutionFailed',
  'ExecutionCancelled',
];

/** `rollback-plan-<id>` and `rollback-<execution id>`: one stream type (`rollback`), told apart by the `plan-` key prefix. */
export const planStreamId = (id: string): string => `rollback-plan-${id}`;
export const executionStreamId = (id: string): string => `rollback-${id}`;
