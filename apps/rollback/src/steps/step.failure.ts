import type { ErrorBody } from '#rollgate/contracts';
import { RollgateError } from '#rollgate/platform';

/** Why an attempt failed, and whether another attempt may succeed (a timeout may; a missing flag will not). */
export class StepFailure extends Error {
  override readonly name = 'StepFailure';
  constructor(
    readonly error: ErrorBody,
    readonly retryable: boolean,
  ) {
    super(error.message);
  }

  static of(error: unknown, retryable: (code: string) => boolean): StepFailure {
    if (error instanceof StepFailure) return error;
    if (error instanceof RollgateError) return new StepFailure(error.toJSON(), retryable(error.code));
    const message = error instanceof Error ? error.message : String(error);
    return new StepFailure({ code: 'GENERIC.INTERNAL', message }, true);
  }
}

/** Bus and transient store conditions: worth another attempt. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['GENERIC.TIMEOUT', 'GENERIC.UNAVAILABLE', 'GENERIC.INTERNAL', 'FLAGS.VERSION_CONFLICT']);
export const isTransient = (code: string): boolean => TRANSIENT_CODES.has(code);
