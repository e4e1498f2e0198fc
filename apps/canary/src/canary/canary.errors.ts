import { CANARY_ERROR_CODES, type CanaryStatus, type ErrorCode, type Problem } from '#rollgate/contracts';
import { RollgateError, validationDetails } from '#rollgate/platform';

/** The canary service's codes (libs/contracts `canary/canary.codes.ts`). */
export const CanaryErrorCodes = CANARY_ERROR_CODES;

export class CanaryError extends RollgateError {
  override readonly name: string = 'CanaryError';
  constructor(code: ErrorCode, message: string, details?: unknown, cause?: unknown) {
    super(code, message, { details, cause });
  }

  static notFound(id: string): CanaryError {
    return new CanaryError(CanaryErrorCodes.notFound, `canary ${id} does not exist`, { id });
  }

  static invalidState(id: string, status: CanaryStatus, command: string): CanaryError {
    return new CanaryError(CanaryErrorCodes.invalidState, `canary ${id} is ${status}: ${command} does not apply`, {
      id,
      status,
      command,
    });
  }

  /** `GENERIC.VALIDATION` with the one details shape, `{ problems: [{ path, message }] }`. */
  static invalid(problems: readonly Problem[]): CanaryError {
    const first = problems
      .slice(0, 3)
      .map((p) => `${p.path} ${p.message}`)
      .join('; ');
    return new CanaryError(CanaryErrorCodes.validation, `Validation failed: ${first}`, validationDetails(problems));
  }
}
