import { ErrorCodes, type ErrorCode } from '#rollgate/contracts';
import type { ValidationProblem } from '#rollgate/evaluation';
import { RollgateError } from '#rollgate/platform';

/** Stable codes of the flags service; the HTTP status follows from the suffix (platform `httpStatusOf`). */
export const FlagErrorCodes = {
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
} as const;

export class FlagError extends RollgateError {
  override readonly name: string = 'FlagError';
  constructor(code: ErrorCode, message: string, details?: unknown, cause?: unknown) {
    super(code, message, { details, cause });
  }

  static notFound(key: string): FlagError {
    return new FlagError(FlagErrorCodes.notFound, `flag ${key} does not exist`, { key });
  }

  static invalid(message: string, problems: readonly ValidationProblem[]): FlagError {
    return new FlagError(FlagErrorCodes.validation, message, { problems });
  }
}
