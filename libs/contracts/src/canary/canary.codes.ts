import { ErrorCodes } from '../error-codes.js';

/** Stable codes of the canary service; the HTTP status follows from the suffix (platform `httpStatusOf`). */
export const CANARY_ERROR_CODES = {
  notFound: 'CANARY.NOT_FOUND',
  alreadyExists: 'CANARY.ALREADY_EXISTS',
  /** The flag already has a canary that is not over (one active canary per flag). */
  activeCanaryExists: 'CANARY.ACTIVE_CANARY_EXISTS',
  flagNotFound: 'CANARY.FLAG_NOT_FOUND',
  flagArchived: 'CANARY.FLAG_ARCHIVED',
  /** The flag changed between reading its state and the canary's first change. */
  flagConflict: 'CANARY.FLAG_CONFLICT',
  /** The command does not apply to the canary's status (promote a created canary, start a running one). */
  invalidState: 'CANARY.INVALID_STATE',
  /** Promotion without the SAFE certificate (or after a regression) and without an override. */
  promotionConflict: 'CANARY.PROMOTION_CONFLICT',
  validation: ErrorCodes.validation,
  versionConflict: 'CANARY.VERSION_CONFLICT',
  commandIdConflict: 'CANARY.COMMAND_ID_CONFLICT',
  idempotencyKeyReused: 'CANARY.IDEMPOTENCY_KEY_REUSED',
} as const;

export type CanaryErrorCode = (typeof CANARY_ERROR_CODES)[keyof typeof CANARY_ERROR_CODES];
