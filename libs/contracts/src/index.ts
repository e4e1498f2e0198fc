export * from './keys.js';
export * from './subjects.js';
export * from './envelope.js';
export * from './command-envelope.js';
export * from './error-codes.js';
export * from './flags/index.js';
export * from './event-envelope.js';
export * from './outcomes.js';
