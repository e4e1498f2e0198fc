import type { CohortCounts, JudgeConfig } from '#rollgate/contracts';
import { addIncrements, batchIncrements, emptyCounts, emptyIncrements, quickVerdict } from './canary-judge.js';

/**
 * Seeded traffic for the judge's simulations (the unit spec and bench/canary.bench.ts), as in
 * research/canary-anchors-sim.py: Poisson arrivals at `rpm`, each request the canary's with probability `share`,
 * each failing with p0 (× ratio in the canary). A failing request is one user with an error; with `burstMean` > 1
 * that user retries and fails again (raw errors grow, distinct users do not). `diurnal` swings traffic ±50 %
 * (1 h period) and both arms' error rate ±50 % (20 min period).
 */
export interface Scenario {
  rpm: number;
  p0: number;
  ratio: number;
  /** Stages: canary share for that many seconds. */
  plan: ReadonlyArray<{ share: number; seconds: number }>;
  batchSeconds: number;
  burstMean?: number;
  diurnal?: boolean;
  /** Probability that a batch is lost on the way (missing telemetry). */
  lossRate?: number;
}

export interface SimBatch {
  t: number;
  canary: CohortCounts;
  baseline: CohortCounts;
}

/** sfc32: small, fast, good enough for simulation; fully determined by the seed. */
export function seededRandom(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 + seed * 7;
  let c = 0xb7e15162 ^ (seed * 31);
  let d = 1;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Poisson by inversion for small means, a rounded normal above 60 (traffic counts, never the error counts). */
export function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
  let k = 0;
  let p = Math.exp(-mean);
  let cumulative = p;
  const u = random();
  while (u > cumulative && k < 1_000) {
    k++;
    p *= mean / k;
    cumulative += p;
  }
  return k;
}

/** Binomial by inversion (n·p small here), or by the complement when p > 0.5. */
export function binomial(random: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(random, n, 1 - p);
  const q = 1 - p;
  const ratio = p / q;
  let k = 0;
  let prob = Math.pow(q, n);
  if (prob === 0) return Math.round(n * p + Math.sqrt(n * p * q) * gaussian(random));
  let cumulative = prob;
  const u = random();
  while (u > cumulative && k < n) {
    prob *= (ratio * (n - k)) / (k + 1);
    k++;
    cumulative += prob;
  }
  return k;
}

const fill = (counts: CohortCounts, requests: number, errorUnits: number, errors: number): CohortCounts => {
  counts.batches = 1;
  counts.requests = requests;
  counts.exposures = requests;
  counts.errors = errors;
  counts.errorUnits = errorUnits;
  return counts;
};

/**
 * The batches of one simulated canary run, in time order. The yielded batch is reused for the next one (a
 * simulation runs millions): read it before asking for the next.
 */
export function* simulateBatches(scenario: Scenario, random: () => number): Generator<SimBatch> {
  let t = 0;
  const batch: SimBatch = { t: 0, canary: emptyCounts(), baseline: emptyCounts() };
  const burst = scenario.burstMean ?? 1;
  for (const stage of scenario.plan) {
    const count = Math.round(stage.seconds / scenario.batchSeconds);
    for (let i = 0; i < count; i++) {
      t += scenario.batchSeconds;
      const traffic = scenario.diurnal ? 1 + 0.5 * Math.sin((2 * Math.PI * t) / 3600) : 1;
      const errorSwing = scenario.diurnal ? 1 + 0.5 * Math.sin((2 * Math.PI * t) / 1200) : 1;
      const n = poisson(random, (scenario.rpm / 60) * scenario.batchSeconds * traffic);
      const nCanary = binomial(random, n, stage.share);
      const nBaseline = n - nCanary;
      // A failing user's burst keeps the failure rate per request at p (units fail at p / burst).
      const unitsCanary = binomial(random, nCanary, Math.min(1, (scenario.p0 * errorSwing * scenario.ratio) / burst));
      const unitsBaseline = binomial(random, nBaseline, (scenario.p0 * errorSwing) / burst);
      const errorsCanary = unitsCanary + (burst > 1 ? poisson(random, (burst - 1) * unitsCanary) : 0);
      const errorsBaseline = unitsBaseline + (burst > 1 ? poisson(random, (burst - 1) * unitsBaseline) : 0);
      if (scenario.lossRate !== undefined && random() < scenario.lossRate) continue;
      batch.t = t;
      fill(batch.canary, nCanary, unitsCanary, errorsCanary);
      fill(batch.baseline, nBaseline, unitsBaseline, errorsBaseline);
      yield batch;
    }
  }
}

export interface RunResult {
  /** Seconds until REGRESSION, Infinity if never. */
  regressionAt: number;
  /** Seconds until every certificate held, Infinity if never. */
  safeAt: number;
}

/**
 * One run through the judge: every batch's increments added, the verdict looked at after each batch (the most
 * frequent cadence there is). `countBy: 'errors'` judges raw error counts instead of distinct users: what the
 * judge must not do (the burst test shows why).
 */
export function runJudge(
  scenario: Scenario,
  judge: JudgeConfig,
  seed: number,
  options: { stopOnSafe?: boolean; countBy?: 'errorUnits' | 'errors' } = {},
): RunResult {
  const random = seededRandom(seed);
  const totals = emptyIncrements(judge);
  let safeAt = Infinity;
  for (const batch of simulateBatches(scenario, random)) {
    if (options.countBy === 'errors') {
      batch.canary.errorUnits = batch.canary.errors;
      batch.baseline.errorUnits = batch.baseline.errors;
    }
    addIncrements(totals, batchIncrements(judge, batch.canary, batch.baseline));
    const verdict = quickVerdict(judge, totals);
    if (verdict.regression) return { regressionAt: batch.t, safeAt };
    if (verdict.safe && safeAt === Infinity) {
      safeAt = batch.t;
      if (options.stopOnSafe) return { regressionAt: Infinity, safeAt };
    }
  }
  return { regressionAt: Infinity, safeAt };
}

/** The q-quantile of run times over all runs (Infinity counts as not reached), as the research's tables report. */
export function quantile(times: readonly number[], q: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
