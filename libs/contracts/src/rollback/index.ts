export * from './rollback.model.js';
export * from './rollback.events.js';
export * from './rollback.evolve.js';
export * from './rollback.commands.js';
export * from './rollback.queries.js';
export * from './rollback.codes.js';
export * from './rollback.subjects.js';
