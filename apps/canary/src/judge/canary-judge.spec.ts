import type { JudgeConfig, OutcomeCohort } from '#rollgate/contracts';
import {
  addIncrements,
  batchIncrements,
  countsOf,
  detectionEstimate,
  effectiveSlowMs,
  emptyCounts,
  emptyIncrements,
  latencyQuantile,
  regressionMetrics,
  regressionThreshold,
  verdictOf,
} from './canary-judge.js';
import {
  bernoulliKl,
  logMeanExp,
  rateIncrements,
  REGRESSION_RATIOS,
  shareAt,
  splitIncrements,
} from './sequential-test.js';

const JUDGE: JudgeConfig = { alpha: 0.01, safeAlpha: 0.05, tolerance: 2 };

const choose = (n: number, k: number): number => {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
};

describe('sequential tests', () => {
  it('the worked case of research §3.2: 0.0307 nats per error, ~150 errors, T ≈ 13.6 min', () => {
    const q1 = shareAt(0.1, 2);
    expect(q1).toBeCloseTo(0.2 / 1.1, 10);
    const kl = bernoulliKl(q1, 0.1);
    expect(kl).toBeCloseTo(0.0307, 4);
    expect(Math.log(100) / kl).toBeCloseTo(150, -1);
    // 1000 req/min, 10 % canary, 1 % errors → error users at 1 000·1 %/60 per second in both arms together.
    const baseline = { ...emptyCounts(), requests: 9_000, errorUnits: 90 };
    const canary = { ...emptyCounts(), requests: 1_000, errorUnits: 10 };
    const seconds = detectionEstimate({ ...JUDGE }, canary, baseline, 600);
    expect(seconds! / 60).toBeCloseTo(13.6, 0);
  });

  it('the split test is a martingale under its null: E[LR] = 1 for every number of bad events and share', () => {
    for (const share of [0.05, 0.1, 0.5]) {
      for (const bad of [1, 3, 10]) {
        const q0 = share;
        let expectation = REGRESSION_RATIOS.map(() => 0);
        for (let k = 0; k <= bad; k++) {
          const p = choose(bad, k) * q0 ** k * (1 - q0) ** (bad - k);
          const lr = splitIncrements(k, bad - k, share * 1_000, (1 - share) * 1_000, 1, REGRESSION_RATIOS).map(
            Math.exp,
          );
          expectation = expectation.map((e, i) => e + p * lr[i]!);
        }
        for (const e of expectation) expect(e).toBeCloseTo(1, 9);
      }
    }
  });

  it('and a supermartingale when the canary is better than the null (one-sided: a better canary never rolls back)', () => {
    const share = 0.1;
    const q = shareAt(share, 0.5);
    let expectation = 0;
    for (let k = 0; k <= 5; k++) {
      const p = choose(5, k) * q ** k * (1 - q) ** (5 - k);
      expectation += p * Math.exp(logMeanExp(splitIncrements(k, 5 - k, 100, 900, 1, REGRESSION_RATIOS)));
    }
    expect(expectation).toBeLessThan(1);
  });

  it('the rate test is a martingale at its bound and a supermartingale below it', () => {
    const bound = 0.1;
    for (const truth of [0.1, 0.05]) {
      let expectation = 0;
      for (let k = 0; k <= 4; k++) {
        const p = choose(4, k) * truth ** k * (1 - truth) ** (4 - k);
        expectation += p * Math.exp(logMeanExp(rateIncrements(k, 4, bound, [1.5, 2, 3])));
      }
      if (truth === bound) expect(expectation).toBeCloseTo(1, 9);
      else expect(expectation).toBeLessThan(1);
    }
  });

  it('an arm without traffic, or a batch without bad events, carries no evidence', () => {
    expect(splitIncrements(3, 0, 10, 0, 1, [2])).toEqual([0]);
    expect(splitIncrements(0, 0, 10, 90, 1, [2])).toEqual([0]);
    expect(rateIncrements(0, 0, 0.1, [2])).toEqual([0]);
  });
});

const cohort = (overrides: Partial<OutcomeCohort>): OutcomeCohort => ({
  variant: 'on',
  exposures: 0,
  requests: 0,
  errors: 0,
  errorUnits: 0,
  errorUnitsCapped: false,
  latencyBuckets: new Array<number>(12).fill(0),
  latencySumMs: 0,
  ...overrides,
});

describe('the judge', () => {
  it('splits α across the regression metrics its criteria name (Bonferroni)', () => {
    expect(regressionMetrics(JUDGE)).toEqual(['errors']);
    expect(regressionThreshold(JUDGE)).toBeCloseTo(Math.log(100), 10);
    const all: JudgeConfig = { ...JUDGE, slowMs: 2_000, maxErrorRate: 0.1 };
    expect(regressionMetrics(all)).toEqual(['errors', 'slow', 'errorRate']);
    expect(regressionThreshold(all)).toBeCloseTo(Math.log(300), 10);
  });

  it('counts slow requests above the histogram bound a response time rounds up to', () => {
    expect(effectiveSlowMs(2_000)).toBe(2_500);
    expect(effectiveSlowMs(500)).toBe(500);
    // buckets: ≤5 ≤10 ≤25 ≤50 ≤100 ≤250 ≤500 ≤1000 ≤2500 ≤5000 ≤10000 +Inf
    const buckets = [0, 0, 0, 0, 10, 0, 0, 0, 5, 3, 2, 1];
    const counts = countsOf(cohort({ requests: 21, latencyBuckets: buckets }), {
      ...JUDGE,
      slowMs: 2_000,
      safeSlowMs: 500,
    });
    expect(counts.timed).toBe(21);
    expect(counts.slow).toBe(6);
    expect(counts.safeSlow).toBe(11);
  });

  it('reaches REGRESSION on a canary whose users fail far more often, and never certifies it', () => {
    const totals = emptyIncrements(JUDGE);
    for (let i = 0; i < 30; i++) {
      addIncrements(
        totals,
        batchIncrements(
          JUDGE,
          { ...emptyCounts(), requests: 100, errorUnits: 5 },
          { ...emptyCounts(), requests: 900, errorUnits: 9 },
        ),
      );
    }
    const verdict = verdictOf(JUDGE, totals);
    expect(verdict.regression).toMatchObject({ metric: 'errors', test: 'regression', crossed: true });
    expect(verdict.safe).toBe(false);
  });

  it('certifies SAFE a canary that matches its baseline, once there are enough error users', () => {
    const totals = emptyIncrements(JUDGE);
    for (let i = 0; i < 40; i++) {
      addIncrements(
        totals,
        batchIncrements(
          JUDGE,
          { ...emptyCounts(), requests: 500, errorUnits: 5 },
          { ...emptyCounts(), requests: 500, errorUnits: 5 },
        ),
      );
    }
    const verdict = verdictOf(JUDGE, totals);
    expect(verdict.regression).toBeUndefined();
    expect(verdict.safe).toBe(true);
  });

  it('takes no regression evidence from a capped baseline and no certificate evidence from a capped canary', () => {
    const capped = batchIncrements(
      JUDGE,
      { ...emptyCounts(), requests: 100, errorUnits: 50, errorUnitsCapped: true },
      { ...emptyCounts(), requests: 100, errorUnits: 1, errorUnitsCapped: true },
    );
    expect(capped.regression.errors.every((x) => x === 0)).toBe(true);
    expect(capped.safety.errors.every((x) => x === 0)).toBe(true);
  });

  it("judges the canary's own error rate against the criteria: above the rollback bound rolls back, below the success bound certifies", () => {
    const judge: JudgeConfig = { ...JUDGE, maxErrorRate: 0.1, safeMaxErrorRate: 0.05 };
    const bad = emptyIncrements(judge);
    addIncrements(
      bad,
      batchIncrements(judge, { ...emptyCounts(), requests: 200, errors: 60 }, { ...emptyCounts(), requests: 200 }),
    );
    expect(verdictOf(judge, bad).regression?.metric).toBe('errorRate');
    const good = emptyIncrements(judge);
    addIncrements(
      good,
      batchIncrements(judge, { ...emptyCounts(), requests: 2_000, errors: 20 }, { ...emptyCounts(), requests: 2_000 }),
    );
    expect(verdictOf(judge, good).tests.find((t) => t.metric === 'errorRate' && t.test === 'safety')?.crossed).toBe(
      true,
    );
  });

  it('reads latency quantiles off the histogram', () => {
    const buckets = [0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0];
    expect(latencyQuantile(buckets, 0.5)).toBeCloseTo(75, 5);
    expect(latencyQuantile(new Array<number>(12).fill(0), 0.5)).toBeNull();
    expect(latencyQuantile([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5], 0.99)).toBe(10_000);
  });
});
