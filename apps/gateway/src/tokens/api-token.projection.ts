import { keyOfStream } from '#rollgate/commands';
import type { Projection, RecordedEvent, SqlClient } from '#rollgate/event-store';
import { apiTokenAggregate, type ApiTokenIssuedData, type ApiTokenRevokedData } from './api-token.decider.js';

/**
 * `gateway.api_tokens`: one row per token, inline (in the append's transaction) so that a list or get right after
 * an issue or a revoke shows it, and rebuildable from the log (`main.js rebuild`). Replaying over existing rows
 * changes nothing: an issue inserts once, a revoke only moves a row forward.
 */
export class ApiTokenProjection implements Projection {
  readonly name = 'api-tokens';

  async apply(events: readonly RecordedEvent[], tx: SqlClient): Promise<void> {
    for (const event of events) {
      const id = keyOfStream(apiTokenAggregate, event.streamId);
      if (id === undefined) continue;
      if (event.type === 'ApiTokenIssued') {
        const data = event.data as ApiTokenIssuedData;
        await tx.query(
          `INSERT INTO gateway.api_tokens (id, name, role, issued_at, expires_at, issued_by, version, issued_position, environment)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO NOTHING`,
          [
            id,
            data.name,
            data.role,
            data.issuedAt,
            data.expiresAt,
            data.issuedBy,
            event.streamVersion,
            event.globalPosition.toString(),
            data.environment ?? null,
          ],
        );
      } else if (event.type === 'ApiTokenRevoked') {
        const data = event.data as ApiTokenRevokedData;
        await tx.query(
          `UPDATE gateway.api_tokens SET revoked_at = $2, revoked_by = $3, version = $4
            WHERE id = $1 AND version < $4`,
          [id, data.revokedAt, data.revokedBy, event.streamVersion],
        );
      }
    }
  }

  async reset(tx: SqlClient): Promise<void> {
    await tx.query('DELETE FROM gateway.api_tokens');
  }
}
