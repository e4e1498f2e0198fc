import { eventStoreMigrations } from '#rollgate/event-store';
import { CanaryReadModels1733100000000 } from './migrations/1733100000000-canary-read-models.js';

/** Everything the canary database needs, in order: the event store, then the read model. */
export const canaryMigrations = [...eventStoreMigrations, CanaryReadModels1733100000000] as const;
