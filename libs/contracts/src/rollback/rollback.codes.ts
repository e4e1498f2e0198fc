import { ErrorCodes } from '../error-codes.js';

/** Stable codes of the rollback service; the HTTP status follows from the suffix (platform `httpStatusOf`). */
export const ROLLBACK_ERROR_CODES = {
  planNotFound: 'ROLLBACK.PLAN_NOT_FOUND',
  planExists: 'ROLLBACK.PLAN_EXISTS',
  planArchived: 'ROLLBACK.PLAN_ARCHIVED',
  executionNotFound: 'ROLLBACK.EXECUTION_NOT_FOUND',
  /** The target (a flag, an environment, a segment) does not exist. */
  targetNotFound: 'ROLLBACK.TARGET_NOT_FOUND',
  /** Another execution holds the target and this one may not preempt it. */
  targetInUse: 'ROLLBACK.TARGET_IN_USE',
  /** The execution's state refuses the command (cancel of a finished execution, of an emergency past its traffic step). */
  invalidState: 'ROLLBACK.INVALID_STATE',
  validation: ErrorCodes.validation,
  versionConflict: 'ROLLBACK.VERSION_CONFLICT',
  commandIdConflict: 'ROLLBACK.COMMAND_ID_CONFLICT',
  idempotencyKeyReused: 'ROLLBACK.IDEMPOTENCY_KEY_REUSED',
  // Step failures (recorded in the execution, never an HTTP status):
  canaryUnavailable: 'ROLLBACK.CANARY_UNAVAILABLE',
  propagationTimeout: 'ROLLBACK.PROPAGATION_TIMEOUT',
  webhookFailed: 'ROLLBACK.WEBHOOK_FAILED',
  kubernetesFailed: 'ROLLBACK.KUBERNETES_FAILED',
  kubernetesNotConfigured: 'ROLLBACK.KUBERNETES_NOT_CONFIGURED',
  flagCommandFailed: 'ROLLBACK.FLAG_COMMAND_FAILED',
  attemptsExhausted: 'ROLLBACK.ATTEMPTS_EXHAUSTED',
  cancelled: 'ROLLBACK.CANCELLED',
  interrupted: 'ROLLBACK.INTERRUPTED',
} as const;

export type RollbackErrorCode = (typeof ROLLBACK_ERROR_CODES)[keyof typeof ROLLBACK_ERROR_CODES];
