export * from './subjects.js';
export * from './envelope.js';
export * from './error-codes.js';
export * from './flags/index.js';
