/**
 * Stable error codes: they cross process boundaries where `instanceof` cannot, and clients switch on them.
 * `<AREA>.<REASON>`; the HTTP status each maps to lives in the platform lib's filter. One code per condition;
 * a service's own codes live in its contracts folder (`flags/flag.codes.ts`).
 */
export const ErrorCodes = {
  validation: 'GENERIC.VALIDATION',
  badRequest: 'GENERIC.BAD_REQUEST',
  notFound: 'GENERIC.NOT_FOUND',
  unauthorized: 'GENERIC.UNAUTHORIZED',
  forbidden: 'GENERIC.FORBIDDEN',
  conflict: 'GENERIC.CONFLICT',
  payloadTooLarge: 'GENERIC.PAYLOAD_TOO_LARGE',
  /** A path parameter past the router's limit (Fastify's 414). */
  uriTooLong: 'GENERIC.URI_TOO_LONG',
  /** Request line and headers past Node's limit (431, answered before any route). */
  headersTooLarge: 'GENERIC.HEADERS_TOO_LARGE',
  unsupportedMediaType: 'GENERIC.UNSUPPORTED_MEDIA_TYPE',
  rateLimited: 'GENERIC.RATE_LIMITED',
  timeout: 'GENERIC.TIMEOUT',
  unavailable: 'GENERIC.UNAVAILABLE',
  internal: 'GENERIC.INTERNAL',
  config: 'GENERIC.CONFIG',
  /** An event message whose envelope fields are missing or malformed (never reaches a client). */
  badEvent: 'CONTRACTS.BAD_EVENT',
  versionConflict: 'STORE.VERSION_CONFLICT',
  streamExists: 'STORE.STREAM_EXISTS',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | `${string}.${string}`;

/** One validation problem: where (in the caller's naming: camelCase on the bus, snake_case over HTTP) and what. */
export interface Problem {
  /** JSON-path-like, e.g. `rollout_percentage`, `flag.environments.production.default_rollout.ppm`, `rules[0].id`. */
  path: string;
  message: string;
}

/** `details` of every `GENERIC.VALIDATION` error, on HTTP and on the bus alike. */
export interface ValidationDetails {
  problems: Problem[];
}
