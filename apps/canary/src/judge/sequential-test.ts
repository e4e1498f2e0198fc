/**
 * Anytime-valid sequential tests on counts (research/canary-anchors.md §3): mixture likelihood ratios that are
 * nonnegative (super)martingales under their null, so by Ville's inequality P(ever ≥ 1/α) ≤ α whatever the number
 * of looks, the horizon, or how the traffic share moves between batches. Each batch adds its log likelihood ratio
 * per alternative; the state is one array of sums, and the e-value is their equally weighted mixture.
 */

/** Rate ratios (canary ÷ baseline) the regression mixture bets on: from a 25 % increase to a hard failure. */
export const REGRESSION_RATIOS: readonly number[] = [1.25, 1.5, 2, 3, 5, 10];
/**
 * The certificate bets on ratios at these fractions of its tolerance (0.8, 1, 1.2, 1.4 for "not 2× worse"): a
 * healthy canary (ratio 1) and a slightly worse one are both certified about as fast as a single bet on either
 * (simulated p90 at the reference workload: 1 480 s, against 1 530 s for the research's 0.5/0.75/1/1.2).
 */
export const SAFETY_FRACTIONS: readonly number[] = [0.4, 0.5, 0.6, 0.7];
/** Multiples of an absolute bound (rates) the tests bet on: above it for a regression, below it for a certificate. */
export const ABOVE_BOUND: readonly number[] = [1.25, 1.5, 2, 3, 5];
export const BELOW_BOUND: readonly number[] = [0.25, 0.5, 0.75, 0.9];

const EPSILON = 1e-12;
const clampProbability = (p: number): number => Math.min(1 - EPSILON, Math.max(EPSILON, p));

/** The canary's share of bad events when its rate is `ratio` × the baseline's and it holds `share` of the traffic. */
export const shareAt = (share: number, ratio: number): number => (share * ratio) / (share * ratio + 1 - share);

/** ln( Σ exp(x_i) / n ): the log of the equally weighted mixture, without overflow. */
export function logMeanExp(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum / values.length);
}

/**
 * Two-arm count test of one batch: given `bad = canaryBad + baselineBad`, each bad event is the canary's with
 * probability q(θ) = share·θ / (share·θ + 1 − share), `share` being the canary's share of the batch's traffic.
 * Returns, per alternative ratio, ln( P_alt / P_null ) of the observed split, null ratio `nullRatio`. Under the null
 * (and under any ratio on the far side of it) the running product is a supermartingale.
 */
export function splitIncrements(
  canaryBad: number,
  baselineBad: number,
  canaryTraffic: number,
  baselineTraffic: number,
  nullRatio: number,
  alternatives: readonly number[],
): number[] {
  const total = canaryTraffic + baselineTraffic;
  // With one arm empty the split carries no information (every bad event is that arm's under both hypotheses).
  if (canaryTraffic <= 0 || baselineTraffic <= 0 || canaryBad + baselineBad === 0) return alternatives.map(() => 0);
  const share = canaryTraffic / total;
  const q0 = clampProbability(shareAt(share, nullRatio));
  const lnQ0 = Math.log(q0);
  const lnNotQ0 = Math.log(1 - q0);
  return alternatives.map((ratio) => {
    const q = clampProbability(shareAt(share, ratio));
    return canaryBad * (Math.log(q) - lnQ0) + baselineBad * (Math.log(1 - q) - lnNotQ0);
  });
}

/**
 * One-arm Bernoulli test of one batch (`bad` of `trials`) against the rate `bound`: per alternative rate
 * `bound × multiple`, ln( P_alt / P_bound ). With multiples above 1 it tests "rate ≤ bound" (a supermartingale for
 * every rate at or below it); below 1, "rate ≥ bound".
 */
export function rateIncrements(bad: number, trials: number, bound: number, multiples: readonly number[]): number[] {
  if (trials <= 0) return multiples.map(() => 0);
  const p0 = clampProbability(bound);
  const good = trials - bad;
  return multiples.map((multiple) => {
    const p = clampProbability(bound * multiple);
    return bad * Math.log(p / p0) + good * Math.log((1 - p) / (1 - p0));
  });
}

/** Adds `b` into `a` element by element (same alternatives), returning `a`. */
export function addInto(a: number[], b: readonly number[]): number[] {
  for (let i = 0; i < b.length; i++) a[i] = (a[i] ?? 0) + b[i]!;
  return a;
}

/** KL divergence (nats) of Bernoulli(q) from Bernoulli(q0): the evidence one bad event carries on average. */
export function bernoulliKl(q: number, q0: number): number {
  const a = clampProbability(q);
  const b = clampProbability(q0);
  return a * Math.log(a / b) + (1 - a) * Math.log((1 - a) / (1 - b));
}

/**
 * Wald's approximation of the time to detect a `ratio`× regression (research §3.2): T ≈ ln(1/α) / (KL · λ), with
 * λ the rate of bad events (per second) the traffic would produce under that regression. Seconds, or null when
 * there is no traffic to judge with.
 */
export function expectedDetectionSeconds(options: {
  share: number;
  baselineBadPerSecond: number;
  ratio: number;
  threshold: number;
}): number | null {
  const { share, baselineBadPerSecond, ratio, threshold } = options;
  if (!(share > 0 && share < 1) || !(baselineBadPerSecond > 0)) return null;
  const q0 = share;
  const q = shareAt(share, ratio);
  // baselineBadPerSecond: bad events of both arms at equal rates; under the regression the canary's grow by `ratio`.
  const lambda = baselineBadPerSecond * (share * ratio + 1 - share);
  return threshold / (bernoulliKl(q, q0) * lambda);
}
