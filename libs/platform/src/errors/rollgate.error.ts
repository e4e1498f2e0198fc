import { ErrorCodes, type ErrorBody, type ErrorCode, type Problem, type ValidationDetails } from '#rollgate/contracts';

export interface RollgateErrorOptions {
  details?: unknown;
  cause?: unknown;
}

/** Options of the generic subclasses: a feature passes its own code (`FLAGS.NOT_FOUND`) to keep the status. */
export interface GenericErrorOptions extends RollgateErrorOptions {
  code?: ErrorCode;
}

/**
 * The one error base. The `code` is the contract: it survives the bus where `instanceof` cannot, and the
 * filters derive the HTTP status from it (see `httpStatusOf`).
 */
export class RollgateError extends Error {
  override readonly name: string = 'RollgateError';
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options: RollgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
  }

  toJSON(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /**
   * Rebuilds an error from the `error` of a bus reply, so a caller (the gateway) can rethrow it and let the HTTP
   * filter map its code. A body that is not an ErrorBody becomes `GENERIC.INTERNAL`.
   */
  static fromBody(body: unknown): RollgateError {
    if (!isErrorBody(body)) {
      return new RollgateError(ErrorCodes.internal, 'Malformed error reply', { details: { received: typeof body } });
    }
    return new RollgateError(body.code as ErrorCode, body.message, { details: body.details });
  }
}

const CODE_SHAPE = /^[A-Z][A-Z0-9_]*\.[A-Z][A-Z0-9_]*$/;

export const isErrorBody = (value: unknown): value is ErrorBody =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ErrorBody).code === 'string' &&
  CODE_SHAPE.test((value as ErrorBody).code) &&
  typeof (value as ErrorBody).message === 'string';

/** Past this many problems the rest are summarised, so a hostile payload cannot inflate the error reply. */
export const MAX_PROBLEMS = 50;

/**
 * `GENERIC.VALIDATION` with `details: { problems: [{ path, message }] }`: the one shape of every validation
 * failure, from class-validator or from a model's validation, on HTTP and on the bus.
 */
export class ValidationError extends RollgateError {
  override readonly name: string = 'ValidationError';
  constructor(message: string, { code = ErrorCodes.validation, ...options }: GenericErrorOptions = {}) {
    super(code, message, options);
  }

  /** The error for a list of problems; the message names the first few. */
  static of(problems: readonly Problem[], message?: string): ValidationError {
    return new ValidationError(message ?? `Validation failed: ${summarise(problems)}`, { details: validationDetails(problems) });
  }
}

/** `{ problems }`, capped at MAX_PROBLEMS (the rest counted in a last entry at path `...`). */
export const validationDetails = (problems: readonly Problem[]): ValidationDetails => {
  if (problems.length <= MAX_PROBLEMS) return { problems: [...problems] };
  return {
    problems: [...problems.slice(0, MAX_PROBLEMS), { path: '...', message: `${problems.length - MAX_PROBLEMS} more problems` }],
  };
};

const summarise = (problems: readonly Problem[]): string =>
  problems
    .slice(0, 3)
    .map(({ path, message }) => (path === '' ? message : `${path} ${message}`))
    .join('; ');

/** The problems of a validation error body, or undefined when it has none in the common shape. */
export const problemsOf = (details: unknown): Problem[] | undefined => {
  const problems = (details as { problems?: unknown } | null | undefined)?.problems;
  if (!Array.isArray(problems)) return undefined;
  return problems.filter(
    (p): p is Problem => typeof p === 'object' && p !== null && typeof p.path === 'string' && typeof p.message === 'string',
  );
};

export class NotFoundError extends RollgateError {
  override readonly name: string = 'NotFoundError';
  constructor(message: string, { code = ErrorCodes.notFound, ...options }: GenericErrorOptions = {}) {
    super(code, message, options);
  }
}

export class UnauthorizedError extends RollgateError {
  override readonly name: string = 'UnauthorizedError';
  constructor(message: string, { code = ErrorCodes.unauthorized, ...options }: GenericErrorOptions = {}) {
    super(code, message, options);
  }
}

export class ForbiddenError extends RollgateError {
  override readonly name: string = 'ForbiddenError';
  constructor(message: string, { code = ErrorCodes.forbidden, ...options }: GenericErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Default `GENERIC.CONFLICT`; stores and features pass `STORE.VERSION_CONFLICT`, `FLAGS.EXISTS` and the like. */
export class ConflictError extends RollgateError {
  override readonly name: string = 'ConflictError';
  constructor(message: string, { code = ErrorCodes.conflict, ...options }: GenericErrorOptions = {}) {
    super(code, message, options);
  }
}

export class TimeoutError extends RollgateError {
  override readonly name: string = 'TimeoutError';
  constructor(message: string, { code = ErrorCodes.timeout, ...options }: GenericErrorOptions = {}) {
    super(code, message, options);
  }
}

export class UnavailableError extends RollgateError {
  override readonly name: string = 'UnavailableError';
  constructor(message: string, { code = ErrorCodes.unavailable, ...options }: GenericErrorOptions = {}) {
    super(code, message, options);
  }
}
