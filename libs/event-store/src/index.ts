export * from './event-store.port.js';
export * from './event-store.errors.js';
export { streamTypeOf, streamKeyOf } from './stream-id.js';
export { PostgresEventStore, advanceCheckpointWith, type SqlClient, type PgAppendOptions } from './postgres-event-store.js';
export { InMemoryEventStore } from './in-memory-event-store.js';
export { createPool, type PoolOptions } from './create-pool.js';
export { PgLeaderElection } from './pg-leader-election.js';
export { ProjectionRunner, type Projection, type ProjectionRunnerOptions } from './projection-runner.js';
export { runMigrations, migrateEventStore, eventStoreMigrations } from './run-migrations.js';
