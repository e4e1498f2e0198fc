export * from './aggregate.js';
export * from './retry-policy.js';
export * from './command.errors.js';
export * from './command-handler.js';
export { canonicalJson, requestHashOf } from './request-hash.js';
