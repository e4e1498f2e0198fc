import { RollgateError } from '#rollgate/platform';

/** `<AREA>.VERSION_CONFLICT` and `<AREA>.COMMAND_ID_CONFLICT`: the codes a service's callers see for these conditions. */
export const conflictCodes = (area: string) =>
  ({ versionConflict: `${area}.VERSION_CONFLICT`, commandIdConflict: `${area}.COMMAND_ID_CONFLICT` }) as const;

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
