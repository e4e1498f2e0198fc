import type { Pool } from 'pg';
import type { TokenTable } from './token-table.js';

/**
 * Last use of each API token, written in batches (one statement per flush, never one per request). Not part of
 * the log: a use is no decision, and an event per request would swamp the audit trail. A failed write keeps the
 * uses for the next flush.
 */
export class TokenUsageWriter {
  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    private readonly table: TokenTable,
  ) {}

  /** Writes the uses recorded since the last flush; returns how many tokens it updated. */
  async flush(): Promise<number> {
    const usage = this.table.takeUsage();
    if (usage.size === 0) return 0;
    const ids = [...usage.keys()];
    const times = ids.map((id) => new Date(usage.get(id)!).toISOString());
    try {
      await this.pool.query(
        `INSERT INTO gateway.api_token_usage (token_id, last_used_at)
         SELECT id, at FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)
         ON CONFLICT (token_id) DO UPDATE SET last_used_at = GREATEST(gateway.api_token_usage.last_used_at, EXCLUDED.last_used_at)`,
        [ids, times],
      );
    } catch (error) {
      this.table.restoreUsage(usage);
      throw error;
    }
    return usage.size;
  }
}
