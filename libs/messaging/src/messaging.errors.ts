import { ErrorCodes, type ErrorCode } from '#rollgate/contracts';
import { RollgateError } from '#rollgate/platform';

/** A messaging failure with a stable code that survives process boundaries. */
export class MessagingError extends RollgateError {
  override readonly name: string = 'MessagingError';

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(code, message, options);
  }
}

/** A core request that failed on the bus (no responder, timeout, connection closed), not in the handler. */
export class RequestFailedError extends MessagingError {
  override readonly name: string = 'RequestFailedError';
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
  override readonly name: string = 'OutOfOrderEventError';
  constructor(streamId: string, expected: number, got: number) {
    super('MESSAGING.OUT_OF_ORDER', `${streamId}: expected version ${expected}, got ${got}`, {
      details: { streamId, expected, got },
    });
  }
}
