/**
 * Stable error codes: they cross process boundaries where `instanceof` cannot, and clients switch on them.
 * `<AREA>.<REASON>`; the HTTP status each maps to lives in the platform lib's filter.
 */
export const ErrorCodes = {
  validation: 'GENERIC.VALIDATION',
  notFound: 'GENERIC.NOT_FOUND',
  unauthorized: 'GENERIC.UNAUTHORIZED',
  forbidden: 'GENERIC.FORBIDDEN',
  payloadTooLarge: 'GENERIC.PAYLOAD_TOO_LARGE',
  timeout: 'GENERIC.TIMEOUT',
  unavailable: 'GENERIC.UNAVAILABLE',
  internal: 'GENERIC.INTERNAL',
  versionConflict: 'STORE.VERSION_CONFLICT',
  streamExists: 'STORE.STREAM_EXISTS',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | `${string}.${string}`;
