import type { ErrorBody } from '../envelope.js';

/**
 * The rollback service's model (design.md §7): plans of four types and five scopes with ordered steps, and
 * executions of them as an event-sourced saga. camelCase here and on the bus; the gateway speaks the seed's
 * snake_case (`rollback_type`, `target_id`, `rollback_steps`, `flag_id`).
 */
export const ROLLBACK_TYPES = ['automatic', 'manual', 'scheduled', 'emergency'] as const;
export type RollbackType = (typeof ROLLBACK_TYPES)[number];

export const ROLLBACK_SCOPES = ['feature_flag', 'canary_deployment', 'system_wide', 'user_group', 'environment'] as const;
export type RollbackScope = (typeof ROLLBACK_SCOPES)[number];

/** The one target of the `system_wide` scope. */
export const SYSTEM_TARGET = 'system';

/**
 * Step kinds. Traffic steps change flags (and are confirmed by `wait_for_propagation`); capacity steps touch
 * Kubernetes and always come after every traffic step (traffic first, capacity second).
 */
export const STEP_TYPES = [
  'disable_feature_flag',
  'disable_environment',
  'set_rollout',
  'restore_feature_flag',
  'restore_environment',
  'restore_system',
  'remove_user_group',
  'end_canary',
  'wait_for_propagation',
  'restart_service',
  'scale_service',
  'call_webhook',
] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const TRAFFIC_STEPS: ReadonlySet<StepType> = new Set([
  'disable_feature_flag',
  'disable_environment',
  'set_rollout',
  'restore_feature_flag',
  'restore_environment',
  'restore_system',
  'remove_user_group',
]);
export const CAPACITY_STEPS: ReadonlySet<StepType> = new Set(['restart_service', 'scale_service']);

/** Config of each step kind (camelCase on the bus; the seed's `{"flag_id": ...}` over HTTP). */
export interface StepConfigs {
  /** Kill switch off; `environments` default: every environment where the flag is enabled when the step starts. */
  disable_feature_flag: { flagId: string; environments?: string[] };
  /** Kill switch off for every flag of `environment`, or of every environment when absent. */
  disable_environment: { environment?: string };
  /** Default rollout to `percentage` (0–100) in `environments` (default: every environment of the flag). */
  set_rollout: { flagId: string; percentage: number; environments?: string[] };
  /** The whole flag as it was at a version or a time (exactly one). */
  restore_feature_flag: { flagId: string; toVersion?: number; asOf?: string };
  /** Every flag's config in one environment as it was at `asOf`. */
  restore_environment: { environment: string; asOf: string };
  /** Every flag as it was at `asOf`. */
  restore_system: { asOf: string };
  /** Rules that reference `segment` are removed, and/or `users` leave every user list (in `environments`, default all). */
  remove_user_group: { segment?: string; users?: string[]; environments?: string[] };
  /** `rg.cmd.canary.end` (contract only until the canary service exists: the step fails with ROLLBACK.CANARY_UNAVAILABLE). */
  end_canary: { canaryId: string; outcome?: 'rolled_back' | 'aborted' };
  /**
   * Until every SDK client reporting on `rg.sdk.<env>.status` in `environments` (default: those the execution
   * touched, else all) applied the execution's last flag change; fails after `timeoutSeconds` (default 30).
   */
  wait_for_propagation: { environments?: string[]; timeoutSeconds?: number; minClients?: number };
  /** Rolling restart of a Deployment (the `restartedAt` annotation, derived from the step so a retry is a no-op). */
  restart_service: { serviceName: string; namespace?: string };
  scale_service: { serviceName: string; replicas: number; namespace?: string };
  /** POST with an HMAC-SHA256 signature and an Idempotency-Key; retried with backoff up to `maxAttempts` (default 3). */
  call_webhook: { url: string; payload?: Record<string, unknown>; maxAttempts?: number; timeoutMs?: number };
}

export type StepDefinition = {
  [T in StepType]: { type: T; config: StepConfigs[T]; continueOnFailure?: boolean };
}[StepType];

/** The seed's `rollback_criteria`, judged by the criteria watcher on the flag's outcomes (automatic plans). */
export interface RollbackCriteria {
  maxErrorRate?: number;
  minSuccessRate?: number;
  maxResponseTimeMs?: number;
  /** Requests needed in the window before anything is judged (default 100). */
  minRequests?: number;
  /** Window judged, ending now (default 5 minutes). */
  windowMinutes?: number;
  environment?: string;
}

export const ON_FAILURE = ['stop', 'compensate'] as const;
export type OnFailure = (typeof ON_FAILURE)[number];

export interface RollbackPlan {
  id: string;
  name: string;
  description?: string;
  rollbackType: RollbackType;
  scope: RollbackScope;
  targetId: string;
  steps: StepDefinition[];
  criteria?: RollbackCriteria;
  /** A failed step stops the execution (default), or also compensates the completed flag steps in reverse. */
  onFailure?: OnFailure;
  archived: boolean;
  version: number;
}

/** Why an execution exists: who and why, and the canary decision, criteria evidence or schedule behind it. */
export interface ExecutionCause {
  kind: 'manual' | 'emergency' | 'schedule' | 'canary_decision' | 'criteria';
  actor: string;
  reason?: string;
  /** The seed's `executed_by` / `rolled_back_by`, as given (the authenticated actor is `actor`). */
  executedBy?: string;
  canaryId?: string;
  decisionId?: string;
  evidence?: unknown;
}

export type ExecutionStatus = 'scheduled' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'preempted';
export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['succeeded', 'failed', 'cancelled', 'preempted']);
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'compensated';

export interface StepAttemptError {
  attempt: number;
  at: string;
  error: ErrorBody;
}

/** One step of an execution as it ran. */
export interface StepRun {
  index: number;
  type: StepType;
  config: StepDefinition['config'];
  continueOnFailure: boolean;
  /** Added by the service (a propagation wait before the first capacity step), not written in the plan. */
  inserted?: boolean;
  status: StepStatus;
  attempts: number;
  /** The attempt running now (recorded before its side effect), 0 when none. */
  attemptInFlight: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** What the step does, fixed when it starts (flag commands with their idempotency keys, the patch, the request). */
  operations?: unknown[];
  result?: unknown;
  error?: ErrorBody;
  attemptErrors: StepAttemptError[];
  retryAt?: string;
  compensation?: { at: string; result?: unknown; error?: ErrorBody };
}

export interface ConsistencyReport {
  verified: boolean;
  at: string;
  /** Flags whose intended state was checked against the flags service. */
  flags: number;
  /** SDK clients whose applied position was checked. */
  clients: number;
  /** When the last counted SDK client had applied the execution's last flag change. */
  sdkConfirmedAt?: string;
  differences: Array<{ key?: string; clientId?: string; expected: unknown; actual: unknown }>;
}

export interface Execution {
  id: string;
  type: RollbackType;
  scope: RollbackScope;
  targetId: string;
  planId?: string;
  planVersion?: number;
  cause: ExecutionCause;
  /** emergency 3 > automatic 2 > manual and scheduled 1: only an emergency preempts, and only a lower one. */
  priority: number;
  onFailure: OnFailure;
  status: ExecutionStatus;
  steps: StepRun[];
  requestedAt: string;
  scheduledFor?: string;
  startedAt?: string;
  finishedAt?: string;
  cancelRequested?: { at: string; actor: string; reason?: string };
  preempts?: string;
  preemptedBy?: string;
  error?: ErrorBody;
  consistency?: ConsistencyReport;
  /** Trigger to every SDK applied (or to the last traffic step, without SDK clients), ms. */
  recoveryMs?: number;
  version: number;
}

export const PRIORITY: Record<RollbackType, number> = { emergency: 3, automatic: 2, manual: 1, scheduled: 1 };
