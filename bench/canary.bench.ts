/**
 * The canary judge by simulation (issue 10 acceptance; method after research/canary-anchors-sim.py): seeded
 * traffic at the reference workload (1 000 req/min, 10 % canary, 1 % baseline errors, α = 0.01) through the real
 * decider of apps/canary (planCanary → evolveCanary → decideCanary Observe, one window per look), ≥ 4 000 runs per
 * cell, and the anchors' rules (naive peeking, Flagger-style, Argo-style, Kayenta-like) on the same runs' traffic.
 * Each SDK batch (10 s, the SDK's default window) adds its own increments, as the service's intake does; a look
 * records the window of batches since the last one. Pure CPU: no services, no infrastructure.
 * Run: npm run bench:canary. Env: BENCH_RUNS (4000).
 */
import type { CanaryEvent, CanaryState, CreateCanaryPayload, FlagDefinition, JudgeConfig } from '#rollgate/contracts';
import { evolveCanary } from '../apps/canary/src/canary/canary.aggregate.js';
import { decideCanary } from '../apps/canary/src/canary/canary.decider.js';
import { planCanary } from '../apps/canary/src/canary/canary.plan.js';
import {
  addCounts,
  addIncrements,
  batchIncrements,
  emptyCounts,
  emptyIncrements,
} from '../apps/canary/src/judge/canary-judge.js';
import {
  quantile,
  seededRandom,
  simulateBatches,
  type Scenario,
  type SimBatch,
} from '../apps/canary/src/judge/traffic-simulation.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 4_000);
const HOUR = 3_600;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const REFERENCE = { rpm: 1_000, p0: 0.01, batchSeconds: 10 } as const;

const FLAG: FlagDefinition = {
  key: 'bench',
  name: 'bench',
  type: 'boolean',
  version: 1,
  environments: { production: { enabled: false, defaultRollout: { type: 'none' } } },
};

/** A started canary (stage 0 applied) whose plan never ends on its own: only the judge decides. */
function startedCanary(overrides: Partial<CreateCanaryPayload> = {}): CanaryState {
  const canary = planCanary(
    {
      flagKey: 'bench',
      name: 'bench',
      strategy: 'percentage',
      targetPercentage: 10,
      monitoringDurationHours: 168,
      minDurationMinutes: 168 * 60,
      ...overrides,
    },
    'bench',
    FLAG,
  );
  const at = new Date(T0).toISOString();
  const events: CanaryEvent[] = [
    { type: 'CanaryCreated', data: { canary, createdBy: 'bench', at } },
    {
      type: 'CanaryStarted',
      data: {
        prior: { flagVersion: 1, environments: { production: FLAG.environments['production']! } },
        startedBy: 'bench',
        at,
      },
    },
    { type: 'CanaryFlagChanged', data: { step: 'stage-0', stage: 0, flagVersion: 2, changes: [], at } },
  ];
  return events.reduce<CanaryState | null>((state, event, i) => evolveCanary(state, event, i + 1), null)!;
}

interface DeciderResult {
  regressionAt: number;
  safeAt: number;
}

/**
 * One run through the decider: batches accumulate into a window (counts and per-batch increments, as the
 * intake does), a look every `lookSeconds` decides Observe on it and folds the events.
 */
function throughDecider(
  batches: Iterable<SimBatch>,
  lookSeconds: number,
  base: CanaryState,
  stopOnSafe = false,
): DeciderResult {
  let state = base;
  let windowStart = 0;
  let canary = emptyCounts();
  let baseline = emptyCounts();
  let increments = emptyIncrements(state.judge);
  let safeAt = Infinity;
  const look = (t: number): boolean => {
    const window = {
      start: new Date(T0 + windowStart * 1_000).toISOString(),
      end: new Date(T0 + t * 1_000).toISOString(),
      canary,
      baseline,
      increments,
    };
    const events = decideCanary({ type: 'Observe', data: { window } }, state, new Date(T0 + t * 1_000));
    state = events.reduce<CanaryState>((s, event, i) => evolveCanary(s, event, state.version + i + 1)!, state);
    windowStart = t;
    canary = emptyCounts();
    baseline = emptyCounts();
    increments = emptyIncrements(state.judge);
    if (state.certifiedAt !== undefined && safeAt === Infinity) safeAt = t;
    return state.status === 'rolling_back';
  };
  let last = 0;
  for (const batch of batches) {
    addCounts(canary, batch.canary);
    addCounts(baseline, batch.baseline);
    addIncrements(increments, batchIncrements(state.judge, batch.canary, batch.baseline));
    last = batch.t;
    if (batch.t - windowStart >= lookSeconds) {
      if (look(batch.t)) return { regressionAt: batch.t, safeAt };
      if (stopOnSafe && safeAt !== Infinity) return { regressionAt: Infinity, safeAt };
    }
  }
  if (last > windowStart && look(last)) return { regressionAt: last, safeAt };
  return { regressionAt: Infinity, safeAt };
}

const copy = (batch: SimBatch): SimBatch => ({
  t: batch.t,
  canary: { ...batch.canary },
  baseline: { ...batch.baseline },
});

// ---- the anchors' rules on the same traffic (research §3.3, canary-anchors-baselines.py) --------------------

/** Per-minute (or per-look) error rates of each arm, from 10 s batches. */
function perWindow(
  batches: readonly SimBatch[],
  seconds: number,
): Array<{ c: number; nC: number; b: number; nB: number }> {
  const out: Array<{ c: number; nC: number; b: number; nB: number }> = [];
  for (const batch of batches) {
    const i = Math.ceil(batch.t / seconds) - 1;
    out[i] ??= { c: 0, nC: 0, b: 0, nB: 0 };
    out[i]!.c += batch.canary.errorUnits;
    out[i]!.nC += batch.canary.requests;
    out[i]!.b += batch.baseline.errorUnits;
    out[i]!.nB += batch.baseline.requests;
  }
  return Array.from(out, (w) => w ?? { c: 0, nC: 0, b: 0, nB: 0 });
}

/** A one-sided two-proportion z-test at α = 0.01 on the cumulative counts after every batch: peeking. */
function naivePeeking(batches: readonly SimBatch[]): number {
  let c = 0;
  let nC = 0;
  let b = 0;
  let nB = 0;
  for (const batch of batches) {
    c += batch.canary.errorUnits;
    nC += batch.canary.requests;
    b += batch.baseline.errorUnits;
    nB += batch.baseline.requests;
    if (nC === 0 || nB === 0) continue;
    const pooled = (c + b) / (nC + nB);
    const se = Math.sqrt(pooled * (1 - pooled) * (1 / nC + 1 / nB));
    if (se > 0 && (c / nC - b / nB) / se > 2.326) return batch.t;
  }
  return Infinity;
}

/** Flagger-style: each 1-min check fails when the canary's rate exceeds `factor` × p0; roll back at 5 failed checks. */
function flaggerStyle(batches: readonly SimBatch[], p0: number, factor: number, threshold = 5): number {
  let failed = 0;
  for (const [i, w] of perWindow(batches, 60).entries()) {
    if (w.nC > 0 && w.c / w.nC > factor * p0) failed++;
    if (failed >= threshold) return (i + 1) * 60;
  }
  return Infinity;
}

/** Argo-style: a measurement per minute fails above `factor` × p0; the analysis fails past `failureLimit`. */
function argoStyle(batches: readonly SimBatch[], p0: number, factor: number, failureLimit: number): number {
  let failed = 0;
  for (const [i, w] of perWindow(batches, 60).entries()) {
    if (w.nC > 0 && w.c / w.nC > factor * p0) failed++;
    if (failed > failureLimit) return (i + 1) * 60;
  }
  return Infinity;
}

/**
 * Kayenta-like (NetflixACAJudge's classifier, approximated as in the research): Mann-Whitney / Hodges-Lehmann on
 * the per-minute error rates, 98 % CI from order statistics; High when the CI's lower end is above 0 and above
 * 0.25 × |HL|, and the mean ratio is ≥ 1. One judgment at `minutes`.
 */
function kayentaLike(batches: readonly SimBatch[], minutes: number): boolean {
  const windows = perWindow(batches, 60).slice(0, minutes);
  const c = windows.map((w) => (w.nC > 0 ? w.c / w.nC : 0));
  const b = windows.map((w) => (w.nB > 0 ? w.b / w.nB : 0));
  const n = c.length;
  const m = b.length;
  if (n === 0 || m === 0) return false;
  const differences: number[] = [];
  for (const x of c) for (const y of b) differences.push(x - y);
  differences.sort((x, y) => x - y);
  const nm = n * m;
  const k = Math.max(0, Math.floor(nm / 2 - 2.326 * Math.sqrt((nm * (n + m + 1)) / 12)));
  const lower = differences[k]!;
  const hl = nm % 2 === 1 ? differences[(nm - 1) / 2]! : (differences[nm / 2 - 1]! + differences[nm / 2]!) / 2;
  const meanC = c.reduce((s, x) => s + x, 0) / n;
  const meanB = b.reduce((s, x) => s + x, 0) / m;
  return lower > 0 && lower > 0.25 * Math.abs(hl) && meanB > 0 && meanC / meanB >= 1;
}

// ---- cells -----------------------------------------------------------------------------------------------

const fmt = (seconds: number): string => (Number.isFinite(seconds) ? `${Math.round(seconds)} s` : '> horizon');
const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
const rate = (times: readonly number[]): number => times.filter(Number.isFinite).length / times.length;
const se = (p: number, n: number): string => `± ${(Math.sqrt((p * (1 - p)) / n) * 100).toFixed(2)}`;

const scenario = (overrides: Partial<Scenario>): Scenario => ({
  ...REFERENCE,
  ratio: 1,
  plan: [{ share: 0.1, seconds: HOUR }],
  ...overrides,
});
const runsOf = (cell: string, body: (seed: number) => void): number => {
  const started = performance.now();
  for (let i = 0; i < RUNS; i++) body(cell.length * 1_000_003 + i);
  return (performance.now() - started) / 1_000;
};

const rows: string[] = [];
const row = (...cells: string[]): void => {
  rows.push(`| ${cells.join(' | ')} |`);
  console.log(cells.join('  |  '));
};

function nullCell(
  name: string,
  s: Scenario,
  lookSeconds: number,
  base: CanaryState,
  countBy: 'errorUnits' | 'errors' = 'errorUnits',
): void {
  const times: number[] = [];
  const took = runsOf(name, (seed) => {
    const random = seededRandom(seed);
    const batches = (function* () {
      for (const batch of simulateBatches(s, random)) {
        if (countBy === 'errors') {
          batch.canary.errorUnits = batch.canary.errors;
          batch.baseline.errorUnits = batch.baseline.errors;
        }
        yield batch;
      }
    })();
    times.push(throughDecider(batches, lookSeconds, base).regressionAt);
  });
  const p = rate(times);
  row(
    name,
    `${RUNS}`,
    `false rollbacks ${pct(p)} ${se(p, RUNS)}`,
    `bound ${pct(base.judge.alpha)}`,
    `${took.toFixed(0)} s`,
  );
}

function main(): void {
  const base = startedCanary();
  const judge: JudgeConfig = base.judge;
  console.log(
    `canary judge simulation: ${RUNS} runs per cell, alpha ${judge.alpha}, safeAlpha ${judge.safeAlpha}, tolerance ${judge.tolerance}`,
  );
  rows.push('| cell | runs | result | target | time |', '|---|---|---|---|---|');

  // False rollbacks of healthy canaries, through the decider.
  nullCell(
    'H0, 24 h, 10 s batches, a look every 60 s',
    scenario({ plan: [{ share: 0.1, seconds: 24 * HOUR }] }),
    60,
    base,
  );
  nullCell('H0, 6 h, a look after every 10 s batch', scenario({ plan: [{ share: 0.1, seconds: 6 * HOUR }] }), 10, base);
  nullCell(
    'H0, stages 5/10/25/50 % (15 min each), diurnal swings, 10 s looks',
    scenario({ plan: [0.05, 0.1, 0.25, 0.5].map((share) => ({ share, seconds: 900 })), diurnal: true }),
    10,
    base,
  );
  nullCell(
    'H0, 6 h, error bursts (mean 5 per failing user), judged by users',
    scenario({ burstMean: 5, plan: [{ share: 0.1, seconds: 6 * HOUR }] }),
    60,
    base,
  );
  nullCell(
    'H0, 6 h, error bursts, judged by raw errors (what the judge must not do)',
    scenario({ burstMean: 5, plan: [{ share: 0.1, seconds: 6 * HOUR }] }),
    60,
    base,
    'errors',
  );
  nullCell(
    'H0, 6 h, 90 % of batches lost (missing telemetry)',
    scenario({ lossRate: 0.9, plan: [{ share: 0.1, seconds: 6 * HOUR }] }),
    60,
    base,
  );

  // Detection, through the decider, 10 s looks.
  const detect = (name: string, s: Scenario, target: string): void => {
    const times: number[] = [];
    const took = runsOf(name, (seed) =>
      times.push(throughDecider(simulateBatches(s, seededRandom(seed)), s.batchSeconds, base).regressionAt),
    );
    row(
      name,
      `${RUNS}`,
      `detected ${pct(rate(times))}; median ${fmt(quantile(times, 0.5))}, p90 ${fmt(quantile(times, 0.9))}, p99 ${fmt(quantile(times, 0.99))}`,
      target,
      `${took.toFixed(0)} s`,
    );
  };
  detect('2x regression, 1 h', scenario({ ratio: 2 }), 'median ≤ 960 s, p90 ≤ 1 980 s');
  detect(
    '2x regression at 50 % share, 1 h',
    scenario({ ratio: 2, plan: [{ share: 0.5, seconds: HOUR }] }),
    'median ≤ 390 s, p90 ≤ 780 s',
  );
  detect('5x regression, 30 min', scenario({ ratio: 5, plan: [{ share: 0.1, seconds: 1_800 }] }), 'p90 ≤ 240 s');
  detect('10x regression, 10 min', scenario({ ratio: 10, plan: [{ share: 0.1, seconds: 600 }] }), 'p90 ≤ 90 s');
  detect(
    'hard failure (50 % errors), 5 % share, 1 s batches, 10 min',
    scenario({ ratio: 50, batchSeconds: 1, plan: [{ share: 0.05, seconds: 600 }] }),
    'p99 ≤ 30 s',
  );

  // The certificate on healthy canaries.
  const safe: number[] = [];
  const safeTook = runsOf('safe', (seed) =>
    safe.push(
      throughDecider(
        simulateBatches(scenario({ plan: [{ share: 0.1, seconds: 4 * HOUR }] }), seededRandom(seed)),
        10,
        base,
        true,
      ).safeAt,
    ),
  );
  row(
    'healthy canary certified SAFE (not ≥ 2x worse), 4 h',
    `${RUNS}`,
    `certified ${pct(rate(safe))}; median ${fmt(quantile(safe, 0.5))}, p90 ${fmt(quantile(safe, 0.9))}`,
    'p90 ≤ 1 500 s',
    `${safeTook.toFixed(0)} s`,
  );

  // The anchors' rules on the same traffic as ours (same seeds), 1 h.
  rows.push(
    '',
    '| rule (same traffic) | false rollbacks (H0) within 30 min / 60 min | 2x caught within 30 min / 60 min | 2x median |',
    '|---|---|---|---|',
  );
  console.log('--- anchors on the same traffic (1 h) ---');
  type Rule = { name: string; run: (batches: readonly SimBatch[]) => number };
  const rules: Rule[] = [
    {
      name: 'Rollgate (mixture SPRT, this decider, 10 s looks)',
      run: (batches) => throughDecider(batches, 10, base).regressionAt,
    },
    { name: 'naive peeking (z-test α 0.01 every 10 s)', run: naivePeeking },
    {
      name: 'Flagger-style (> 2×p0 per 1-min check, threshold 5)',
      run: (batches) => flaggerStyle(batches, REFERENCE.p0, 2),
    },
    { name: 'Flagger-style (> 5×p0, threshold 5)', run: (batches) => flaggerStyle(batches, REFERENCE.p0, 5) },
    { name: 'Argo-style (> 2×p0, failureLimit 3)', run: (batches) => argoStyle(batches, REFERENCE.p0, 2, 3) },
    {
      name: 'Argo-style (> 2×p0, failureLimit 0, the default)',
      run: (batches) => argoStyle(batches, REFERENCE.p0, 2, 0),
    },
    {
      name: 'Kayenta-like (MW/HL 98 %, one judgment at 30 and 60 min)',
      run: (batches) => (kayentaLike(batches, 30) ? 1_800 : kayentaLike(batches, 60) ? 3_600 : Infinity),
    },
  ];
  const traffic = (ratio: number, seed: number): SimBatch[] =>
    Array.from(simulateBatches(scenario({ ratio }), seededRandom(seed)), copy);
  const results = rules.map(() => ({ h0: [] as number[], h1: [] as number[] }));
  const anchorsTook = runsOf('anchors', (seed) => {
    const healthy = traffic(1, seed);
    const bad = traffic(2, seed + 7);
    rules.forEach((rule, i) => {
      results[i]!.h0.push(rule.run(healthy));
      results[i]!.h1.push(rule.run(bad));
    });
  });
  rules.forEach((rule, i) => {
    const { h0, h1 } = results[i]!;
    const within = (limit: number) => h1.filter((t) => t <= limit).length / h1.length;
    const falseWithin = (limit: number) => h0.filter((t) => t <= limit).length / h0.length;
    const cells = [
      rule.name,
      `${pct(falseWithin(1_800))} / ${pct(falseWithin(3_600))}`,
      `${pct(within(1_800))} / ${pct(within(3_600))}`,
      fmt(quantile(h1, 0.5)),
    ];
    rows.push(`| ${cells.join(' | ')} |`);
    console.log(cells.join('  |  '));
  });
  console.log(`anchors: ${anchorsTook.toFixed(0)} s`);
  console.log('\nmarkdown:\n' + rows.join('\n'));
}

main();
