import type { Pool } from 'pg';
import {
  LATENCY_BUCKETS_MS,
  type OutcomeRow,
  type OutcomesQuery,
  type OutcomesResult,
  type OutcomeTotals,
} from '#rollgate/contracts';

const DAY_MS = 86_400_000;

interface Stored {
  environment: string;
  variant: string;
  bucket: Date;
  exposures: string;
  requests: string;
  errors: string;
  error_units: string;
  error_units_capped: boolean;
  latency_buckets: string[];
  latency_sum_ms: number;
  batches: string;
}

const empty = (environment: string, variant: string): OutcomeTotals => ({
  environment,
  variant,
  exposures: 0,
  requests: 0,
  errors: 0,
  errorUnits: 0,
  errorUnitsCapped: false,
  errorRate: 0,
  latencyBuckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
  latencySumMs: 0,
  batches: 0,
});

function addInto(target: OutcomeTotals, row: Stored): void {
  target.exposures += Number(row.exposures);
  target.requests += Number(row.requests);
  target.errors += Number(row.errors);
  target.errorUnits += Number(row.error_units);
  target.errorUnitsCapped ||= row.error_units_capped;
  row.latency_buckets.forEach((n, i) => (target.latencyBuckets[i] = (target.latencyBuckets[i] ?? 0) + Number(n)));
  target.latencySumMs += row.latency_sum_ms;
  target.batches += Number(row.batches);
  target.errorRate = target.requests === 0 ? 0 : target.errors / target.requests;
}

/** `rg.qry.flags.outcomes`: one flag's outcome rollups in [since, until), per window (granularity) and in total. */
export class OutcomeQueries {
  constructor(private readonly pool: Pool) {}

  async outcomes(query: OutcomesQuery): Promise<OutcomesResult> {
    const granularity = query.granularity ?? 'minute';
    const since = new Date(query.since);
    const until = query.until !== undefined ? new Date(query.until) : new Date(since.getTime() + DAY_MS);
    const params: unknown[] = [granularity, query.key, since, until];
    let where = 'flag_key = $2 AND bucket >= $3 AND bucket < $4';
    if (query.environment !== undefined) {
      params.push(query.environment);
      where += ' AND environment = $5';
    }
    const { rows } = await this.pool.query<Stored>(
      `SELECT environment, variant, date_trunc($1, bucket) AS bucket, exposures, requests, errors, error_units,
              error_units_capped, latency_buckets, latency_sum_ms, batches
         FROM flags.outcome_counts WHERE ${where}
        ORDER BY 3, 1, 2`,
      params,
    );
    const windows = new Map<string, OutcomeRow>();
    const totals = new Map<string, OutcomeTotals>();
    for (const row of rows) {
      const cohort = `${row.environment}\u0000${row.variant}`;
      const bucket = row.bucket.toISOString();
      const windowId = `${bucket}\u0000${cohort}`;
      let window = windows.get(windowId);
      if (window === undefined) windows.set(windowId, (window = { ...empty(row.environment, row.variant), bucket }));
      addInto(window, row);
      let total = totals.get(cohort);
      if (total === undefined) totals.set(cohort, (total = empty(row.environment, row.variant)));
      addInto(total, row);
    }
    return {
      key: query.key,
      environment: query.environment ?? null,
      granularity,
      since: since.toISOString(),
      until: until.toISOString(),
      latencyBucketsMs: LATENCY_BUCKETS_MS,
      rows: [...windows.values()],
      totals: [...totals.values()].sort((a, b) => (a.environment + a.variant < b.environment + b.variant ? -1 : 1)),
    };
  }
}
