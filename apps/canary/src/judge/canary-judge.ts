import {
  LATENCY_BUCKETS_MS,
  type CohortCounts,
  type JudgeConfig,
  type JudgeIncrements,
  type MetricName,
  type OutcomeCohort,
  type TestIncrements,
  type TestStanding,
} from '#rollgate/contracts';
import {
  ABOVE_BOUND,
  BELOW_BOUND,
  REGRESSION_RATIOS,
  SAFETY_FRACTIONS,
  addInto,
  expectedDetectionSeconds,
  logMeanExp,
  rateIncrements,
  splitIncrements,
} from './sequential-test.js';

/**
 * The canary judge (research §3.1, §3.4), pure: outcome counts in, log likelihood ratios out, and the standing
 * of each test against its level. Metrics:
 * - `errors`, relative: the canary's share of users with an error (per client window) against its share of the
 *   traffic. Users, not raw errors, because one user's retries are not independent events.
 * - `slow`, relative, when a criterion names `max_response_time_ms`: requests above that latency bound.
 * - `errorRate`, absolute, when a criterion names `max_error_rate` or `min_success_rate`: the canary's own rate.
 * REGRESSION when any regression test reaches ln(k/α) (Bonferroni over its k metrics); SAFE when every
 * certificate reaches ln(1/safeAlpha) (an intersection: each must hold).
 */

export const emptyCounts = (): CohortCounts => ({
  batches: 0,
  exposures: 0,
  requests: 0,
  errors: 0,
  errorUnits: 0,
  errorUnitsCapped: false,
  timed: 0,
  slow: 0,
  safeSlow: 0,
  latencyBuckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
  latencySumMs: 0,
});

export function addCounts(into: CohortCounts, add: CohortCounts): CohortCounts {
  into.batches += add.batches;
  into.exposures += add.exposures;
  into.requests += add.requests;
  into.errors += add.errors;
  into.errorUnits += add.errorUnits;
  into.errorUnitsCapped ||= add.errorUnitsCapped;
  into.timed += add.timed;
  into.slow += add.slow;
  into.safeSlow += add.safeSlow;
  addInto(into.latencyBuckets, add.latencyBuckets);
  into.latencySumMs += add.latencySumMs;
  return into;
}

export const sumCounts = (counts: readonly CohortCounts[]): CohortCounts =>
  counts.reduce((sum, c) => addCounts(sum, c), emptyCounts());

/**
 * Index of the latency bucket a slow bound falls in: requests in later buckets are slow. A bound between two
 * histogram bounds rounds up to the next one (the histogram cannot tell 2 000 ms from 2 500 ms).
 */
export const slowBucketIndex = (ms: number): number => {
  const index = LATENCY_BUCKETS_MS.findIndex((bound) => bound >= ms);
  return index === -1 ? LATENCY_BUCKETS_MS.length : index;
};

/** The histogram bound a criterion's response time is judged at. */
export const effectiveSlowMs = (ms: number): number =>
  LATENCY_BUCKETS_MS[Math.min(slowBucketIndex(ms), LATENCY_BUCKETS_MS.length - 1)]!;

const above = (buckets: readonly number[], ms: number | undefined): number =>
  ms === undefined ? 0 : buckets.slice(slowBucketIndex(ms) + 1).reduce((a, b) => a + b, 0);

/** One SDK cohort of one batch as the judge counts it. */
export function countsOf(cohort: OutcomeCohort, judge: JudgeConfig): CohortCounts {
  const timed = cohort.latencyBuckets.reduce((a, b) => a + b, 0);
  return {
    batches: 1,
    exposures: cohort.exposures,
    requests: cohort.requests,
    errors: cohort.errors,
    errorUnits: cohort.errorUnits,
    errorUnitsCapped: cohort.errorUnitsCapped,
    timed,
    slow: above(cohort.latencyBuckets, judge.slowMs),
    safeSlow: above(cohort.latencyBuckets, judge.safeSlowMs ?? judge.slowMs),
    latencyBuckets: [...cohort.latencyBuckets],
    latencySumMs: cohort.latencySumMs,
  };
}

/** The certificate's alternatives: fixed fractions of its tolerance. */
export const safetyRatios = (tolerance: number): number[] => SAFETY_FRACTIONS.map((fraction) => fraction * tolerance);

/** What a judge config implies, computed once per config object (a simulation judges millions of batches). */
interface JudgePlan {
  regressionMetrics: MetricName[];
  safetyMetrics: MetricName[];
  safetyRatios: number[];
  regressionThreshold: number;
  safetyThreshold: number;
  safeSlow: boolean;
}

const plans = new WeakMap<JudgeConfig, JudgePlan>();

function planOf(judge: JudgeConfig): JudgePlan {
  let plan = plans.get(judge);
  if (plan === undefined) {
    const safeSlow = (judge.safeSlowMs ?? judge.slowMs) !== undefined;
    const regression: MetricName[] = ['errors'];
    if (judge.slowMs !== undefined) regression.push('slow');
    if (judge.maxErrorRate !== undefined) regression.push('errorRate');
    const safety: MetricName[] = ['errors'];
    if (safeSlow) safety.push('slow');
    if (judge.safeMaxErrorRate !== undefined) safety.push('errorRate');
    plan = {
      regressionMetrics: regression,
      safetyMetrics: safety,
      safetyRatios: safetyRatios(judge.tolerance),
      regressionThreshold: Math.log(regression.length / judge.alpha),
      safetyThreshold: Math.log(1 / judge.safeAlpha),
      safeSlow,
    };
    plans.set(judge, plan);
  }
  return plan;
}

/** Metrics with a regression test; their number k splits α. */
export const regressionMetrics = (judge: JudgeConfig): MetricName[] => [...planOf(judge).regressionMetrics];
export const safetyMetrics = (judge: JudgeConfig): MetricName[] => [...planOf(judge).safetyMetrics];

const alternativesOf = (plan: JudgePlan, metric: MetricName, test: 'regression' | 'safety'): readonly number[] => {
  if (metric === 'errorRate') return test === 'regression' ? ABOVE_BOUND : BELOW_BOUND;
  return test === 'regression' ? REGRESSION_RATIOS : plan.safetyRatios;
};

const zeros = (plan: JudgePlan, metrics: readonly MetricName[], test: 'regression' | 'safety'): TestIncrements => {
  const out: TestIncrements = { errors: [] };
  for (const metric of metrics) out[metric] = alternativesOf(plan, metric, test).map(() => 0);
  return out;
};

export const emptyIncrements = (judge: JudgeConfig): JudgeIncrements => {
  const plan = planOf(judge);
  return {
    regression: zeros(plan, plan.regressionMetrics, 'regression'),
    safety: zeros(plan, plan.safetyMetrics, 'safety'),
  };
};

const METRICS: readonly MetricName[] = ['errors', 'slow', 'errorRate'];

export function addIncrements(into: JudgeIncrements, add: JudgeIncrements): JudgeIncrements {
  for (const metric of METRICS) {
    const regression = add.regression[metric];
    if (regression !== undefined)
      into.regression[metric] = addInto(into.regression[metric] ?? regression.map(() => 0), regression);
    const safety = add.safety[metric];
    if (safety !== undefined) into.safety[metric] = addInto(into.safety[metric] ?? safety.map(() => 0), safety);
  }
  return into;
}

const noEvidence = (alternatives: readonly number[]): number[] => alternatives.map(() => 0);

/**
 * What one batch (one client's window of the flag) adds to every test. Capped distinct-user counts are lower
 * bounds: a capped baseline would inflate the canary's share (no regression evidence from it), a capped canary
 * would deflate it (no certificate evidence from it).
 */
export function batchIncrements(judge: JudgeConfig, canary: CohortCounts, baseline: CohortCounts): JudgeIncrements {
  const plan = planOf(judge);
  const regression: TestIncrements = {
    errors: baseline.errorUnitsCapped
      ? noEvidence(REGRESSION_RATIOS)
      : splitIncrements(
          canary.errorUnits,
          baseline.errorUnits,
          canary.requests,
          baseline.requests,
          1,
          REGRESSION_RATIOS,
        ),
  };
  const safety: TestIncrements = {
    errors: canary.errorUnitsCapped
      ? noEvidence(plan.safetyRatios)
      : splitIncrements(
          canary.errorUnits,
          baseline.errorUnits,
          canary.requests,
          baseline.requests,
          judge.tolerance,
          plan.safetyRatios,
        ),
  };
  if (judge.slowMs !== undefined)
    regression.slow = splitIncrements(canary.slow, baseline.slow, canary.timed, baseline.timed, 1, REGRESSION_RATIOS);
  if (plan.safeSlow) {
    safety.slow = splitIncrements(
      canary.safeSlow,
      baseline.safeSlow,
      canary.timed,
      baseline.timed,
      judge.tolerance,
      plan.safetyRatios,
    );
  }
  if (judge.maxErrorRate !== undefined)
    regression.errorRate = rateIncrements(canary.errors, canary.requests, judge.maxErrorRate, ABOVE_BOUND);
  if (judge.safeMaxErrorRate !== undefined)
    safety.errorRate = rateIncrements(canary.errors, canary.requests, judge.safeMaxErrorRate, BELOW_BOUND);
  return { regression, safety };
}

/** ln(k/α): each of the k regression tests gets α/k. */
export const regressionThreshold = (judge: JudgeConfig): number => planOf(judge).regressionThreshold;
export const safetyThreshold = (judge: JudgeConfig): number => planOf(judge).safetyThreshold;

/** Every test's standing after the summed increments. */
export function standings(judge: JudgeConfig, totals: JudgeIncrements): TestStanding[] {
  const plan = planOf(judge);
  const out: TestStanding[] = [];
  for (const metric of plan.regressionMetrics) {
    const logE = logMeanExp(totals.regression[metric] ?? []);
    out.push({
      metric,
      test: 'regression',
      logE,
      threshold: plan.regressionThreshold,
      crossed: logE >= plan.regressionThreshold,
    });
  }
  for (const metric of plan.safetyMetrics) {
    const logE = logMeanExp(totals.safety[metric] ?? []);
    out.push({ metric, test: 'safety', logE, threshold: plan.safetyThreshold, crossed: logE >= plan.safetyThreshold });
  }
  return out;
}

export interface Verdict {
  /** The first regression test that crossed its level, if any. */
  regression: TestStanding | undefined;
  /** Every certificate crossed its level. */
  safe: boolean;
  tests: TestStanding[];
}

export function verdictOf(judge: JudgeConfig, totals: JudgeIncrements): Verdict {
  const tests = standings(judge, totals);
  return {
    regression: tests.find((t) => t.test === 'regression' && t.crossed),
    safe: tests.filter((t) => t.test === 'safety').every((t) => t.crossed),
    tests,
  };
}

/** verdictOf without the standings, for loops that look after every batch (simulations). */
export function quickVerdict(judge: JudgeConfig, totals: JudgeIncrements): { regression: boolean; safe: boolean } {
  const plan = planOf(judge);
  let crossed = false;
  for (const metric of plan.regressionMetrics)
    if (logMeanExp(totals.regression[metric] ?? []) >= plan.regressionThreshold) crossed = true;
  let safe = true;
  for (const metric of plan.safetyMetrics)
    if (logMeanExp(totals.safety[metric] ?? []) < plan.safetyThreshold) safe = false;
  return { regression: crossed, safe };
}

/**
 * Expected time to detect a `ratio`× error regression at the traffic seen over `seconds` (research §3.2), for the
 * UI: when it is long, the traffic is too low for the guarantee asked for.
 */
export function detectionEstimate(
  judge: JudgeConfig,
  canary: CohortCounts,
  baseline: CohortCounts,
  seconds: number,
  ratio = 2,
): number | null {
  const traffic = canary.requests + baseline.requests;
  if (traffic === 0 || seconds <= 0) return null;
  const share = canary.requests / traffic;
  // Bad events the baseline's rate would give both arms: the baseline's per-request rate of error users.
  const baselineRate = baseline.requests > 0 ? baseline.errorUnits / baseline.requests : 0;
  return expectedDetectionSeconds({
    share,
    baselineBadPerSecond: (baselineRate * traffic) / seconds,
    ratio,
    threshold: regressionThreshold(judge),
  });
}

/** The q-quantile of a latency histogram (ms), interpolated inside its bucket; null without timed requests. */
export function latencyQuantile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!;
    if (count > 0 && seen + count >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      // The overflow bucket has no upper bound: report its lower one.
      if (i >= LATENCY_BUCKETS_MS.length) return lower;
      const upper = LATENCY_BUCKETS_MS[i]!;
      return lower + ((rank - seen) / count) * (upper - lower);
    }
    seen += count;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}
