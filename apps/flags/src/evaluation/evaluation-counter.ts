import type { Pool } from 'pg';

interface Count {
  key: string;
  environment: string;
  variant: string;
  value: string;
  enabled: boolean;
  bucket: number;
  count: number;
}

const MINUTE_MS = 60_000;
const MAX_ROWS_PER_FLUSH = 1_000;

/**
 * Evaluation counts kept in memory and added to `flags.evaluation_counts` in batches, one row per flag,
 * environment, variant, value and minute: the hot path never writes to the database.
 */
export class EvaluationCounter {
  private counts = new Map<string, Count>();

  constructor(
    private readonly pool: Pool,
    private readonly clock: () => number = Date.now,
  ) {}

  get pending(): number {
    return this.counts.size;
  }

  record(key: string, environment: string, variant: string | undefined, value: unknown, enabled: boolean, times = 1): void {
    const bucket = Math.floor(this.clock() / MINUTE_MS) * MINUTE_MS;
    this.add({ key, environment, variant: variant ?? '', value: JSON.stringify(value ?? null), enabled, bucket, count: times });
  }

  private add(count: Count): void {
    const id = [count.key, count.environment, count.variant, count.value, count.enabled ? 1 : 0, count.bucket].join('\u0000');
    const existing = this.counts.get(id);
    if (existing) existing.count += count.count;
    else this.counts.set(id, { ...count });
  }

  /** Adds everything counted so far; on failure the counts are kept for the next flush. */
  async flush(): Promise<number> {
    if (this.counts.size === 0) return 0;
    const batch = [...this.counts.values()];
    this.counts = new Map();
    let written = 0;
    try {
      for (let i = 0; i < batch.length; i += MAX_ROWS_PER_FLUSH) {
        const rows = batch.slice(i, i + MAX_ROWS_PER_FLUSH);
        await this.pool.query(
          `INSERT INTO flags.evaluation_counts AS c (flag_key, environment, variant, value, enabled, bucket, count)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[], $7::bigint[])
           ON CONFLICT (flag_key, environment, variant, value, enabled, bucket) DO UPDATE SET count = c.count + EXCLUDED.count`,
          [
            rows.map((r) => r.key),
            rows.map((r) => r.environment),
            rows.map((r) => r.variant),
            rows.map((r) => r.value),
            rows.map((r) => r.enabled),
            rows.map((r) => new Date(r.bucket).toISOString()),
            rows.map((r) => r.count),
          ],
        );
        written = i + rows.length;
      }
    } catch (error) {
      for (const row of batch.slice(written)) this.add(row);
      throw error;
    }
    return batch.length;
  }
}
