import { ErrorCodes } from '#rollgate/contracts';
import { RollgateError } from '#rollgate/platform';

/** The stream was not at the expected version: someone else appended first. Retry by re-reading and deciding. */
export class VersionConflictError extends RollgateError {
  override readonly name: string = 'VersionConflictError';
  constructor(streamId: string, expected: unknown, options?: { cause?: unknown }) {
    super(ErrorCodes.versionConflict, `stream ${streamId} is not at the expected version ${String(expected)}`, {
      details: { streamId, expected },
      cause: options?.cause,
    });
  }
}

/** A command id was reused for a different stream: an idempotency key must name one command. */
export class CommandIdReusedError extends RollgateError {
  override readonly name: string = 'CommandIdReusedError';
  constructor(
    commandId: string,
    streamId: string,
    readonly originalStreamId: string,
  ) {
    super('STORE.COMMAND_ID_CONFLICT', `command id ${commandId} was already used for another stream`, {
      details: { commandId, streamId, originalStreamId },
    });
  }
}

export class InvalidAppendError extends RollgateError {
  override readonly name: string = 'InvalidAppendError';
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCodes.validation, message, { details });
  }
}
