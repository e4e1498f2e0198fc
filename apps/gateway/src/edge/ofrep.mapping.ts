import type { EvaluationContext, EvaluationResult, JsonValue } from '#rollgate/evaluation';

/**
 * OFREP's shapes (open-feature/protocol service/openapi.yaml 0.3.0) from the engine's results. Pure: the routes
 * in ofrep.routes.ts do the HTTP.
 */
export type OfrepErrorCode = 'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'GENERAL' | 'FLAG_NOT_FOUND';

export interface OfrepSuccess {
  key: string;
  reason: string;
  value?: JsonValue;
  variant?: string;
  metadata?: Record<string, string | number | boolean>;
}

export interface OfrepFailure {
  key: string;
  errorCode: OfrepErrorCode;
  errorDetails?: string;
}

/** A whole request refused (bulk, or before any flag): `{errorCode, errorDetails}`. */
export interface OfrepRequestError {
  errorCode: OfrepErrorCode;
  errorDetails: string;
}

export const MAX_CONTEXT_ATTRIBUTES = 100;
const MAX_TARGETING_KEY = 256;

export type ParsedRequest = { ok: true; context: EvaluationContext } | { ok: false; error: OfrepRequestError };

const invalid = (errorDetails: string): ParsedRequest => ({ ok: false, error: { errorCode: 'INVALID_CONTEXT', errorDetails } });

const isJsonContentType = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(contentType.trim());

/**
 * The request body → the engine's context: `{"context": {...}}` is required (an empty object is fine); its
 * `targetingKey` becomes `userId` when that is absent, as in the SDK's OpenFeature provider, so both bucket alike.
 */
export function parseOfrepRequest(contentType: string | undefined, body: Buffer | undefined): ParsedRequest {
  if (!isJsonContentType(contentType)) return invalid('the request must be JSON (Content-Type: application/json) with a context');
  if (body === undefined || body.length === 0) return invalid('the request body must be {"context": {...}}');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, error: { errorCode: 'PARSE_ERROR', errorDetails: 'the request body is not valid JSON' } };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return invalid('the request body must be a JSON object');
  const context = (parsed as { context?: unknown }).context;
  if (context === undefined || context === null) return invalid('context is required');
  if (typeof context !== 'object' || Array.isArray(context)) return invalid('context must be a JSON object');
  const attributes = context as Record<string, unknown>;
  if (Object.keys(attributes).length > MAX_CONTEXT_ATTRIBUTES) return invalid(`context may hold at most ${MAX_CONTEXT_ATTRIBUTES} attributes`);
  const targetingKey = attributes['targetingKey'];
  if (targetingKey !== undefined && (typeof targetingKey !== 'string' || targetingKey.length > MAX_TARGETING_KEY)) {
    return invalid(`targetingKey must be a string of at most ${MAX_TARGETING_KEY} characters`);
  }
  if (targetingKey === undefined || attributes['userId'] !== undefined) return { ok: true, context: attributes };
  return { ok: true, context: { ...attributes, userId: targetingKey } };
}

const FAILURE_CODES = new Set<string>(['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL', 'FLAG_NOT_FOUND']);

/** One engine result as OFREP's success or failure item; the engine's reason passes through as it is. */
export function toOfrepItem(key: string, result: EvaluationResult<JsonValue>): OfrepSuccess | OfrepFailure {
  if (result.errorCode !== undefined) {
    const errorCode = (FAILURE_CODES.has(result.errorCode) ? result.errorCode : 'GENERAL') as OfrepErrorCode;
    return { key, errorCode, errorDetails: errorCode === 'FLAG_NOT_FOUND' ? `flag ${key} does not exist` : `evaluation failed: ${result.errorCode}` };
  }
  const item: OfrepSuccess = { key, reason: result.reason };
  // A switched-off flag answers with its off value and reason DISABLED. OFREP's own answer would be no value (the
  // caller's code default, as the SDK's provider returns), but the npm providers (ofrep-provider 0.1.3,
  // ofrep-web-provider 0.4.3) turn a value-less item into GENERAL errors, the web one for the whole bulk.
  if (result.value !== undefined && result.value !== null) item.value = result.value;
  if (result.variant !== undefined) item.variant = result.variant;
  // The flag's own metadata (what the SDK's provider returns as flagMetadata), then where the answer came from.
  const metadata: Record<string, string | number | boolean> = { ...result.metadata };
  if (result.flagVersion !== undefined) metadata['version'] = result.flagVersion;
  if (result.ruleId !== undefined) metadata['ruleId'] = result.ruleId;
  if (Object.keys(metadata).length > 0) item.metadata = metadata;
  return item;
}

/** The HTTP status of a single-flag answer: 200, 404 for an unknown flag, 400 for any other failure. */
export const statusOfItem = (item: OfrepSuccess | OfrepFailure): number =>
  !('errorCode' in item) ? 200 : item.errorCode === 'FLAG_NOT_FOUND' ? 404 : 400;
