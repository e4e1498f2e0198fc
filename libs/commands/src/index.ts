export * from './aggregate.js';
export * from './retry-policy.js';
export * from './command.errors.js';
export * from './command-handler.js';
export { canonicalJson, requestHashOf } from './request-hash.js';
export { FoldedCache, type CachedFold } from './folded-cache.js';
export { DEFAULT_MAX_EVENT_BYTES, EVENT_ENVELOPE_ALLOWANCE, eventWireBytes } from './event-size.js';
