import type { Pool, PoolClient } from 'pg';
import type { OutcomeBatch } from '#rollgate/contracts';
import type { FlagDefinition } from '#rollgate/evaluation';

const MINUTE_MS = 60_000;
/** Deadlocks (with the evaluation counts flush, which locks rows in its own order) and serialization failures. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;

export type RollupResult = 'accepted' | 'duplicate';

/** The evaluation-counts row an SDK exposure adds to: the value and on/off the variant stands for. */
export function exposureValue(flag: FlagDefinition | undefined, variant: string): { value: string; enabled: boolean } {
  if (flag?.type === 'experiment') {
    const served = flag.variants?.find((v) => v.key === variant);
    if (served === undefined) return { value: 'null', enabled: false };
    return { value: JSON.stringify(served.payload ?? null), enabled: variant !== flag.offVariant };
  }
  if (variant === 'on') return { value: 'true', enabled: true };
  if (variant === 'off') return { value: 'false', enabled: false };
  return { value: 'null', enabled: false };
}

/**
 * Adds one outcome batch to `flags.outcome_counts` (per cohort) and its exposures to `flags.evaluation_counts`, in
 * one transaction with the batch id's row in `flags.outcome_batches`: a batch is counted once or not at all.
 */
export class OutcomeRollup {
  constructor(
    private readonly pool: Pool,
    /** The current definition of a flag (for the value an exposure stands for). */
    private readonly flagOf: (key: string) => FlagDefinition | undefined,
  ) {}

  async add(batch: OutcomeBatch): Promise<RollupResult> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await this.write(client, batch);
        await client.query(result === 'accepted' ? 'COMMIT' : 'ROLLBACK');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: string }).code;
        if (attempt >= MAX_ATTEMPTS || code === undefined || !RETRYABLE.has(code)) throw error;
      } finally {
        client.release();
      }
    }
  }

  private async write(client: PoolClient, batch: OutcomeBatch): Promise<RollupResult> {
    const claimed = await client.query(
      'INSERT INTO flags.outcome_batches (batch_id, client_id) VALUES ($1, $2) ON CONFLICT (batch_id) DO NOTHING',
      [batch.batchId, batch.clientId],
    );
    if (claimed.rowCount === 0) return 'duplicate';
    if (batch.cohorts.length === 0) return 'accepted';
    const bucket = new Date(Math.floor(Date.parse(batch.windowStart) / MINUTE_MS) * MINUTE_MS).toISOString();
    // Rows in one order (by variant) so that concurrent batches of the same flag never deadlock each other.
    const cohorts = [...batch.cohorts].sort((a, b) => (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0));
    await client.query(
      `INSERT INTO flags.outcome_counts AS c (flag_key, environment, variant, bucket, exposures, requests, errors, error_units,
              error_units_capped, latency_buckets, latency_sum_ms, batches)
       SELECT $1, $2, r.variant, $3::timestamptz, r.exposures, r.requests, r.errors, r."errorUnits", r."errorUnitsCapped",
              r."latencyBuckets", r."latencySumMs", 1
         FROM jsonb_to_recordset($4::jsonb) AS r(variant text, exposures bigint, requests bigint, errors bigint, "errorUnits" bigint,
              "errorUnitsCapped" boolean, "latencyBuckets" bigint[], "latencySumMs" double precision)
       ON CONFLICT (flag_key, environment, variant, bucket) DO UPDATE SET
         exposures = c.exposures + EXCLUDED.exposures,
         requests = c.requests + EXCLUDED.requests,
         errors = c.errors + EXCLUDED.errors,
         error_units = c.error_units + EXCLUDED.error_units,
         error_units_capped = c.error_units_capped OR EXCLUDED.error_units_capped,
         latency_buckets = ARRAY(SELECT x + y FROM unnest(c.latency_buckets, EXCLUDED.latency_buckets) WITH ORDINALITY AS t(x, y, i) ORDER BY i),
         latency_sum_ms = c.latency_sum_ms + EXCLUDED.latency_sum_ms,
         batches = c.batches + 1`,
      [batch.flagKey, batch.environment, bucket, JSON.stringify(cohorts)],
    );
    const exposed = cohorts.filter((cohort) => cohort.exposures > 0);
    if (exposed.length > 0) {
      const flag = this.flagOf(batch.flagKey);
      const rows = exposed.map((cohort) => ({ variant: cohort.variant, count: cohort.exposures, ...exposureValue(flag, cohort.variant) }));
      await client.query(
        `INSERT INTO flags.evaluation_counts AS c (flag_key, environment, variant, value, enabled, bucket, count)
         SELECT $1, $2, r.variant, r.value, r.enabled, $3::timestamptz, r.count
           FROM jsonb_to_recordset($4::jsonb) AS r(variant text, value text, enabled boolean, count bigint)
         ON CONFLICT (flag_key, environment, variant, value, enabled, bucket) DO UPDATE SET count = c.count + EXCLUDED.count`,
        [batch.flagKey, batch.environment, bucket, JSON.stringify(rows)],
      );
    }
    return 'accepted';
  }

  /** Forgets batch ids older than the retention: a batch arriving again after that would count twice. */
  async prune(retentionMs: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      "DELETE FROM flags.outcome_batches WHERE received_at < now() - $1 * interval '1 millisecond'",
      [retentionMs],
    );
    return rowCount ?? 0;
  }
}
