import { eventStoreMigrations } from '#rollgate/event-store';
import { RollbackReadModels1733000000000 } from './migrations/1733000000000-rollback-read-models.js';

/** The event store, then the rollback read models (plans, executions, the target lock). */
export const rollbackMigrations = [...eventStoreMigrations, RollbackReadModels1733000000000] as const;
