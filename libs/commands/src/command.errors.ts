import { RollgateError, ValidationError } from '#rollgate/platform';

/** `<AREA>.VERSION_CONFLICT` and `<AREA>.COMMAND_ID_CONFLICT`: the codes a service's callers see for these conditions. */
export const conflictCodes = (area: string) =>
  ({ versionConflict: `${area}.VERSION_CONFLICT`, commandIdConflict: `${area}.COMMAND_ID_CONFLICT` }) as const;

/** `<AREA>.IDEMPOTENCY_KEY_REUSED` (HTTP 422): a command id sent again with another request than its first. */
export const idempotencyKeyReusedCode = (area: string) => `${area}.IDEMPOTENCY_KEY_REUSED` as const;

/** The stream moved past the version the caller pinned, or the retries ran out. */
export class StreamVersionConflictError extends RollgateError {
  override readonly name: string = 'StreamVersionConflictError';
  constructor(area: string, streamId: string, expected: number, actual: number | undefined, cause?: unknown) {
    super(
      conflictCodes(area).versionConflict,
      `${streamId} is not at version ${expected}${actual === undefined ? '' : ` (it is at ${actual})`}`,
      {
        details: actual === undefined ? { streamId, expectedVersion: expected } : { streamId, expectedVersion: expected, currentVersion: actual },
        cause,
      },
    );
  }
}

/** An idempotency key (command id) already used for another stream: a key names one command. */
export class CommandIdConflictError extends RollgateError {
  override readonly name: string = 'CommandIdConflictError';
  constructor(area: string, commandId: string, usedFor: string) {
    super(conflictCodes(area).commandIdConflict, `command id ${commandId} was already used for ${usedFor}`, {
      details: { commandId, streamId: usedFor },
    });
  }
}

/**
 * An idempotency key (command id) sent again for the same stream with a different request (another command type or
 * payload): a key replays only the request it was first used for. Nothing is decided or appended.
 */
export class IdempotencyKeyReusedError extends RollgateError {
  override readonly name: string = 'IdempotencyKeyReusedError';
  constructor(area: string, commandId: string, streamId: string, commandType: string) {
    super(
      idempotencyKeyReusedCode(area),
      `command id ${commandId} was already used for a different request on ${streamId}; use a new key for ${commandType}`,
      { details: { commandId, streamId, commandType } },
    );
  }
}

/** `<AREA>.EVENT_TOO_LARGE` (HTTP 413): a decided event that would not fit the bus. */
export const eventTooLargeCode = (area: string) => `${area}.EVENT_TOO_LARGE` as const;

/**
 * A command whose decided event would be larger than the bus carries (its data, metadata and what the outbox adds,
 * against the configured limit below NATS max_payload). Refused before anything is appended: the log only ever
 * holds events every subscriber can receive.
 */
export class EventTooLargeError extends RollgateError {
  override readonly name: string = 'EventTooLargeError';
  constructor(area: string, streamId: string, eventType: string, eventBytes: number, maxEventBytes: number) {
    super(
      eventTooLargeCode(area),
      `the ${eventType} event for ${streamId} would be ${eventBytes} bytes on the bus, over the ${maxEventBytes}-byte limit; nothing was stored`,
      { details: { streamId, eventType, eventBytes, maxEventBytes } },
    );
  }
}

/**
 * A bulk command (`handleMany`) that could not be applied: it lost the version race on one of its streams more often
 * than the retry policy allows, or a pinned version no longer held (`<AREA>.VERSION_CONFLICT`). Nothing of it was
 * appended.
 */
export class BulkCommandError extends RollgateError {
  override readonly name: string = 'BulkCommandError';
  constructor(area: string, streams: number, attempts: number, cause: unknown) {
    super(conflictCodes(area).versionConflict, `the bulk command over ${streams} streams lost a version race ${attempts} times; nothing was appended`, {
      details: { streams, attempts, ...(cause instanceof RollgateError && cause.details ? { conflict: cause.details } : {}) },
      cause,
    });
  }
}

/** A bulk command that names one stream or one command id twice (`GENERIC.VALIDATION`). */
export const duplicateInBulk = (path: string, message: string): ValidationError => ValidationError.of([{ path, message }]);
