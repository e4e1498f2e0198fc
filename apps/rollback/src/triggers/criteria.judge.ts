import { LATENCY_BUCKETS_MS, type OutcomeTotals, type RollbackCriteria } from '#rollgate/contracts';

export const DEFAULT_MIN_REQUESTS = 100;
export const DEFAULT_WINDOW_MINUTES = 5;

export interface Judgement {
  verdict: 'breach' | 'ok' | 'insufficient';
  requests: number;
  errors: number;
  errorRate: number;
  /** Upper bound of the histogram bucket holding the 95th percentile (ms); null when no latency was reported. */
  p95Ms: number | null;
  breaches: string[];
  cohorts: string[];
}

/**
 * The criteria, judged simply (the canary service will judge with anytime-valid statistics): over the window, the
 * treatment cohorts' (variants other than `off`/`default`, or all when only those exist) error rate, success rate
 * and p95 latency against the plan's thresholds, once `minRequests` were seen. Missing telemetry holds, never breaches.
 */
export function judgeCriteria(totals: readonly OutcomeTotals[], criteria: RollbackCriteria): Judgement {
  const treatment = totals.filter((t) => t.variant !== 'off' && t.variant !== 'default');
  const cohorts = treatment.length > 0 ? treatment : [...totals];
  const requests = cohorts.reduce((sum, t) => sum + t.requests, 0);
  const errors = cohorts.reduce((sum, t) => sum + t.errors, 0);
  const buckets = LATENCY_BUCKETS_MS.map((_, i) => cohorts.reduce((sum, t) => sum + (t.latencyBuckets[i] ?? 0), 0));
  const overflow = cohorts.reduce((sum, t) => sum + (t.latencyBuckets[LATENCY_BUCKETS_MS.length] ?? 0), 0);
  const observed = buckets.reduce((a, b) => a + b, 0) + overflow;
  let p95Ms: number | null = null;
  if (observed > 0) {
    let seen = 0;
    p95Ms = Infinity;
    for (let i = 0; i < buckets.length; i++) {
      seen += buckets[i]!;
      if (seen >= 0.95 * observed) {
        p95Ms = LATENCY_BUCKETS_MS[i]!;
        break;
      }
    }
  }
  const errorRate = requests === 0 ? 0 : errors / requests;
  const base = { requests, errors, errorRate, p95Ms, cohorts: cohorts.map((t) => `${t.environment}/${t.variant}`) };
  if (requests < (criteria.minRequests ?? DEFAULT_MIN_REQUESTS)) return { verdict: 'insufficient', breaches: [], ...base };
  const breaches: string[] = [];
  if (criteria.maxErrorRate !== undefined && errorRate > criteria.maxErrorRate) breaches.push(`error rate ${errorRate.toFixed(4)} > ${criteria.maxErrorRate}`);
  if (criteria.minSuccessRate !== undefined && 1 - errorRate < criteria.minSuccessRate) breaches.push(`success rate ${(1 - errorRate).toFixed(4)} < ${criteria.minSuccessRate}`);
  if (criteria.maxResponseTimeMs !== undefined && p95Ms !== null && p95Ms > criteria.maxResponseTimeMs) breaches.push(`p95 latency ${p95Ms} ms > ${criteria.maxResponseTimeMs} ms`);
  return { verdict: breaches.length > 0 ? 'breach' : 'ok', breaches, ...base };
}
