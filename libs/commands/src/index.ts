export * from './aggregate.js';
export * from './retry-policy.js';
export * from './command.errors.js';
export * from './command-handler.js';
