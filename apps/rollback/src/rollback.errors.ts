import { ROLLBACK_ERROR_CODES, type ErrorCode, type Problem } from '#rollgate/contracts';
import { RollgateError, validationDetails } from '#rollgate/platform';

export const RollbackErrorCodes = ROLLBACK_ERROR_CODES;

/** Every error the rollback service throws: a stable code (libs/contracts `rollback/rollback.codes.ts`). */
export class RollbackError extends RollgateError {
  override readonly name: string = 'RollbackError';
  constructor(code: ErrorCode, message: string, details?: unknown, cause?: unknown) {
    super(code, message, { details, cause });
  }

  static invalid(message: string, problems: readonly Problem[]): RollbackError {
    return new RollbackError(RollbackErrorCodes.validation, message, validationDetails(problems));
  }

  static planNotFound(id: string): RollbackError {
    return new RollbackError(RollbackErrorCodes.planNotFound, `rollback plan ${id} does not exist`, { id });
  }

  static executionNotFound(id: string): RollbackError {
    return new RollbackError(RollbackErrorCodes.executionNotFound, `rollback execution ${id} does not exist`, { id });
  }

  static invalidState(message: string, details: Record<string, unknown>): RollbackError {
    return new RollbackError(RollbackErrorCodes.invalidState, message, details);
  }
}
