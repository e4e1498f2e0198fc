import type { FlagState } from '#rollgate/contracts';
import { evolveStored } from '#rollgate/commands';
import { streamKeyOf, streamTypeOf, type Projection, type RecordedEvent, type SqlClient } from '#rollgate/event-store';
import { flagAggregate } from '../flag/flag.aggregate.js';

/**
 * The audit trail (`flags.audit`): one row per flag event with who, when, why, the change, and the definition
 * before and after it, keyed in the log's order by (transaction_id, global_position). The "before" comes from the projection's own table (the previous row's `after`), never
 * from another read model, so a rebuild from zero reproduces every row.
 */
export class AuditProjection implements Projection {
  readonly name = 'flag-audit';

  async apply(events: readonly RecordedEvent[], tx: SqlClient): Promise<void> {
    const latest = new Map<string, FlagState>();
    for (const event of events) {
      if (streamTypeOf(event.streamId) !== 'flag') continue;
      const key = streamKeyOf(event.streamId);
      let before = latest.get(key);
      if (before === undefined) {
        const { rows } = await tx.query<{ after: FlagState }>(
          'SELECT after FROM flags.audit WHERE key = $1 AND version < $2 ORDER BY version DESC LIMIT 1',
          [key, event.streamVersion],
        );
        before = rows[0]?.after ?? null;
      }
      const after = evolveStored(flagAggregate, before, event);
      latest.set(key, after);
      const metadata = event.metadata;
      await tx.query(
        `INSERT INTO flags.audit (global_position, transaction_id, key, version, event_type, actor, reason, command_id,
           correlation_id, recorded_at, change, before, after)
         VALUES ($1, $13::xid8, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT DO NOTHING`,
        [
          event.globalPosition.toString(),
          key,
          event.streamVersion,
          event.type,
          textOrNull(metadata.actor),
          textOrNull(metadata.reason),
          textOrNull(metadata.commandId),
          textOrNull(metadata.correlationId),
          event.recordedAt,
          JSON.stringify(event.data ?? {}),
          before === null ? null : JSON.stringify(before),
          after === null ? null : JSON.stringify(after),
          event.transactionId.toString(),
        ],
      );
    }
  }

  async reset(tx: SqlClient): Promise<void> {
    await tx.query('DELETE FROM flags.audit');
  }
}

const textOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
