export * from './canary.model.js';
export * from './canary.events.js';
export * from './canary.commands.js';
export * from './canary.queries.js';
export * from './canary.codes.js';
export * from './canary.subjects.js';
