import type { EvaluationErrorCode, EvaluationResult, FlagMetadata, JsonValue, Reason } from './flag.model.js';

/**
 * An evaluation as OpenFeature reports it (a provider's ResolutionDetails, an OFREP success or error body).
 * `errorCode` strings are OpenFeature's own, so they pass through unchanged.
 */
export interface OpenFeatureResolution<T = JsonValue> {
  value: T;
  variant: string | undefined;
  reason: Reason;
  errorCode: EvaluationErrorCode | undefined;
  errorMessage: string | undefined;
  flagMetadata: FlagMetadata;
}

const NO_METADATA: FlagMetadata = Object.freeze({});

const ERROR_MESSAGES: Readonly<Record<EvaluationErrorCode, string>> = {
  FLAG_NOT_FOUND: 'flag not found',
  TYPE_MISMATCH: 'the flag serves a value of another type than the default',
  INVALID_CONTEXT: 'the evaluation context is not an object',
  TARGETING_KEY_MISSING: 'the evaluation context has no targeting key',
  PARSE_ERROR: 'the flag could not be parsed',
  GENERAL: 'the evaluation failed',
};

/**
 * Maps an engine result to OpenFeature's evaluation semantics:
 * - an error: the caller's default, reason ERROR, the error code, no variant;
 * - a disabled flag: the caller's default (not the flag's off value), reason DISABLED, no variant, as flagd does;
 * - otherwise the served value and variant with the engine's reason (STATIC, TARGETING_MATCH, SPLIT, DEFAULT, STALE).
 * `flagMetadata` is the flag's own metadata (empty when it has none), also on errors of a known flag.
 */
export function toOpenFeatureResolution<T extends JsonValue>(result: EvaluationResult<T>, defaultValue: T, flagKey?: string): OpenFeatureResolution<T> {
  const flagMetadata = result.metadata ?? NO_METADATA;
  if (result.errorCode !== undefined) {
    const message = ERROR_MESSAGES[result.errorCode] ?? ERROR_MESSAGES.GENERAL;
    return {
      value: defaultValue,
      variant: undefined,
      reason: 'ERROR',
      errorCode: result.errorCode,
      errorMessage: flagKey === undefined ? message : `${flagKey}: ${message}`,
      flagMetadata,
    };
  }
  if (result.reason === 'DISABLED') {
    return { value: defaultValue, variant: undefined, reason: 'DISABLED', errorCode: undefined, errorMessage: undefined, flagMetadata };
  }
  return { value: result.value, variant: result.variant, reason: result.reason, errorCode: undefined, errorMessage: undefined, flagMetadata };
}
