import { eventStoreMigrations } from '#rollgate/event-store';
import { FlagsReadModels1732500000000 } from './migrations/1732500000000-flags-read-models.js';
import { FlagsOutcomes1732600000000 } from './migrations/1732600000000-flags-outcomes.js';
import { FlagsAuditOrder1732800000000 } from './migrations/1732800000000-flags-audit-order.js';

/**
 * Everything the flags database needs, in order: the event store, then the read models, then the outcome rollups,
 * then the audit trail's (transaction_id, global_position) order.
 */
export const flagsMigrations = [
  ...eventStoreMigrations,
  FlagsReadModels1732500000000,
  FlagsOutcomes1732600000000,
  FlagsAuditOrder1732800000000,
] as const;
