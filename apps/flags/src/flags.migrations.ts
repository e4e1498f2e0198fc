import { eventStoreMigrations } from '#rollgate/event-store';
import { FlagsReadModels1732500000000 } from './migrations/1732500000000-flags-read-models.js';

/** Everything the flags database needs, in order: the event store, then the read models. */
export const flagsMigrations = [...eventStoreMigrations, FlagsReadModels1732500000000] as const;
