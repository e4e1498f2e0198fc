export * from './flag.events.js';
export * from './flag.evolve.js';
export * from './flag.commands.js';
export * from './flag.queries.js';
export * from './flag.codes.js';
export * from './flag.subjects.js';
export * from './flag.rollout-strategy.js';
export * from './flag.snapshot.js';
