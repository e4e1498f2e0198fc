import { ErrorCodes } from '#rollgate/contracts';

/** Store errors carry stable codes so they survive the bus; the platform filters map them to 409 / replies. */
export class EventStoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** The stream was not at the expected version: someone else appended first. Retry by re-reading and deciding. */
export class VersionConflictError extends EventStoreError {
  constructor(streamId: string, expected: unknown, options?: { cause?: unknown }) {
    super(ErrorCodes.versionConflict, `stream ${streamId} is not at the expected version ${String(expected)}`, {
      streamId,
      expected,
    }, options);
  }
}

/** A command id was reused for a different stream: an idempotency key must name one command. */
export class CommandIdReusedError extends EventStoreError {
  constructor(commandId: string, streamId: string, originalStreamId: string) {
    super('STORE.COMMAND_ID_REUSED', `command id ${commandId} was already used for another stream`, {
      commandId,
      streamId,
      originalStreamId,
    });
  }
}

export class InvalidAppendError extends EventStoreError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCodes.validation, message, details);
  }
}
