import type { ValidationProblem } from './flag.validation.js';

/**
 * The evaluation lib stands alone (the SDK ships it), so it carries its own small errors with the
 * platform's stable codes rather than importing the platform lib.
 */
export class EvaluationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  toJSON(): { code: string; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** A definition that `validateFlag` rejects; the flags service maps it to GENERIC.VALIDATION. */
export class FlagValidationError extends EvaluationError {
  constructor(
    readonly flagKey: string,
    readonly problems: readonly ValidationProblem[],
  ) {
    super('GENERIC.VALIDATION', `flag ${JSON.stringify(flagKey)} is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
  }
}

export class EnvironmentMismatchError extends EvaluationError {
  constructor(expected: string, actual: string) {
    super('EVALUATION.ENVIRONMENT_MISMATCH', `snapshot is for environment ${JSON.stringify(actual)}, engine serves ${JSON.stringify(expected)}`);
  }
}
