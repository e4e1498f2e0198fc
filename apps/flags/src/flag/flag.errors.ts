import { FLAG_ERROR_CODES, type ErrorCode } from '#rollgate/contracts';
import type { ValidationProblem } from '#rollgate/evaluation';
import { RollgateError, validationDetails } from '#rollgate/platform';

/** The flags service's codes (libs/contracts `flags/flag.codes.ts`). */
export const FlagErrorCodes = FLAG_ERROR_CODES;

export class FlagError extends RollgateError {
  override readonly name: string = 'FlagError';
  constructor(code: ErrorCode, message: string, details?: unknown, cause?: unknown) {
    super(code, message, { details, cause });
  }

  static notFound(key: string): FlagError {
    return new FlagError(FlagErrorCodes.notFound, `flag ${key} does not exist`, { key });
  }

  /** `GENERIC.VALIDATION` with the one details shape, `{ problems: [{ path, message }] }`. */
  static invalid(message: string, problems: readonly ValidationProblem[]): FlagError {
    return new FlagError(FlagErrorCodes.validation, message, validationDetails(problems));
  }
}
