import type { ErrorCode } from './error-codes.js';

// Matched against the end of the code's last segment, so `STORE.VERSION_CONFLICT`, `FLAGS.ALREADY_EXISTS` and
// `FLAGS.FLAG_NOT_FOUND` map without a table per feature. INVALID_STATE (a command the aggregate's current state
// refuses) is a conflict with that state, not a server fault.
const SUFFIX_STATUS: ReadonlyArray<readonly [string, number]> = [
  ['VALIDATION', 400],
  ['UNAUTHORIZED', 401],
  ['FORBIDDEN', 403],
  ['NOT_FOUND', 404],
  ['CONFLICT', 409],
  ['EXISTS', 409],
  ['INVALID_STATE', 409],
  ['ARCHIVED', 409],
  ['IN_USE', 409],
  ['PAYLOAD_TOO_LARGE', 413],
  // FLAGS.EVENT_TOO_LARGE, FLAGS.DEFINITION_TOO_LARGE: what the request asks to store would not fit the bus.
  ['TOO_LARGE', 413],
  ['URI_TOO_LONG', 414],
  ['HEADERS_TOO_LARGE', 431],
  // An Idempotency-Key sent again with another request: well-formed, but not processable under that key.
  ['IDEMPOTENCY_KEY_REUSED', 422],
  ['UNAVAILABLE', 503],
  ['TIMEOUT', 504],
];

/** The HTTP status of an error code: by the suffix of its reason, anything unknown is 500. */
export const httpStatusOf = (code: ErrorCode | string): number => {
  const reason = code.slice(code.lastIndexOf('.') + 1);
  for (const [suffix, status] of SUFFIX_STATUS) {
    if (reason === suffix || reason.endsWith(`_${suffix}`)) return status;
  }
  return 500;
};
