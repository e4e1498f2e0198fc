import { ErrorCodes } from '../error-codes.js';

/** Stable codes of the flags service; the HTTP status follows from the suffix (platform `httpStatusOf`). */
export const FLAG_ERROR_CODES = {
  notFound: 'FLAGS.NOT_FOUND',
  alreadyExists: 'FLAGS.ALREADY_EXISTS',
  archived: 'FLAGS.ARCHIVED',
  versionConflict: 'FLAGS.VERSION_CONFLICT',
  environmentNotFound: 'FLAGS.ENVIRONMENT_NOT_FOUND',
  ruleNotFound: 'FLAGS.RULE_NOT_FOUND',
  revertTargetNotFound: 'FLAGS.REVERT_TARGET_NOT_FOUND',
  segmentNotFound: 'FLAGS.SEGMENT_NOT_FOUND',
  segmentInUse: 'FLAGS.SEGMENT_IN_USE',
  validation: ErrorCodes.validation,
  /**
   * A command whose event would not fit the bus (libs/commands `eventTooLargeCode`, HTTP 413): refused before
   * anything is appended. `details`: eventType, eventBytes, maxEventBytes.
   */
  eventTooLarge: 'FLAGS.EVENT_TOO_LARGE',
  /** A flag (or a segment's definition) that would outgrow MAX_DEFINITION_BYTES (HTTP 413): large lists belong in a member list segment. */
  definitionTooLarge: 'FLAGS.DEFINITION_TOO_LARGE',
  /** A command id (Idempotency-Key) already used for another flag or segment (libs/commands `conflictCodes`). */
  commandIdConflict: 'FLAGS.COMMAND_ID_CONFLICT',
  /** A command id (Idempotency-Key) sent again for the same flag or segment with another request (libs/commands). */
  idempotencyKeyReused: 'FLAGS.IDEMPOTENCY_KEY_REUSED',
} as const;

export type FlagErrorCode = (typeof FLAG_ERROR_CODES)[keyof typeof FLAG_ERROR_CODES];
