import { ErrorCodes } from '#rollgate/contracts';

/**
 * A messaging failure with a stable code that survives process boundaries. Local until libs/platform's
 * RollgateError lands; same shape (`code`, `cause`, `details`, `toJSON()`) so it can then extend it.
 */
export class MessagingError extends Error {
  override readonly name: string = 'MessagingError';
  readonly code: string;
  readonly details?: unknown;

  constructor(code: string, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  toJSON(): { code: string; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** A core request that failed on the bus (no responder, timeout, connection closed), not in the handler. */
export class RequestFailedError extends MessagingError {
  override readonly name = 'RequestFailedError';
  constructor(
    code: typeof ErrorCodes.timeout | typeof ErrorCodes.unavailable,
    readonly subject: string,
    cause: unknown,
  ) {
    super(code, `request on ${subject} failed: ${code === ErrorCodes.timeout ? 'timed out' : 'no responders'}`, {
      cause,
    });
  }
}

/** An event was delivered before its predecessor in the same stream was applied: retry later (nak). */
export class OutOfOrderEventError extends MessagingError {
  override readonly name = 'OutOfOrderEventError';
  constructor(streamId: string, expected: number, got: number) {
    super('MESSAGING.OUT_OF_ORDER', `${streamId}: expected version ${expected}, got ${got}`, {
      details: { streamId, expected, got },
    });
  }
}
