export * from './flag.events.js';
export * from './flag.evolve.js';
export * from './flag.commands.js';
export * from './flag.queries.js';
