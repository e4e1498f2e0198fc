/**
 * The SDK's one error class. It cannot extend the platform lib's RollgateError (the SDK must not pull server
 * libs), so it carries the same shape: a stable `code`, `cause`, and `toJSON()`.
 */
export type SdkErrorCode = 'SDK.NOT_READY' | 'SDK.SNAPSHOT_FAILED' | 'SDK.SNAPSHOT_FILE' | 'SDK.BAD_OPTIONS' | 'SDK.CLOSED';

export class SdkError extends Error {
  constructor(
    readonly code: SdkErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SdkError';
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}
