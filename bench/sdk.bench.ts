/**
 * The SDK's own cost: (a) evaluation through RollgateClient against the raw EvaluationEngine on the same flags
 * (target: within 10 %), (b) heap of one client holding 10 000 flags, (c) the OpenFeature path through
 * RollgateProvider against @openfeature/flagd-provider's in-process resolver (offline flag file, no flagd server),
 * both through the same OpenFeature client API. Memory runs in fresh child processes with --expose-gc.
 * Run: npm run build && node dist/bench/sdk.bench.js. Env: BENCH_PASSES (default 7).
 *
 * Propagation (HTTP command reply → change event in 100 clients) needs the flags service and gateway running: it
 * is measured by its own bench (docs/benchmarks.md, ## Propagation).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpenFeature, type Client as OfClient } from '@openfeature/server-sdk';
import { EvaluationEngine, type FlagDefinition } from '#rollgate/evaluation';
import { RollgateClient, RollgateProvider } from '#rollgate/sdk';
import { SCENARIOS, flagdFlags, memoryFlagKey, MEMORY_FLAGS, rollgateFlags, rollgateMemoryFlags, type Scenario } from './eval/peer-flags.js';

const ENV = 'production';
const USERS = 100_000;
const PASS = 1_000_000;
const OF_PASS = 200_000;
const PASSES = Number(process.env['BENCH_PASSES'] ?? 7);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number) => bytes / 1024 / 1024;
const contexts = Array.from({ length: USERS }, (_, i) => ({ userId: `user-${i}`, targetingKey: `user-${i}`, environment: ENV, plan: 'free' }));

const offlineClient = (flags: FlagDefinition[], trackExposures: boolean) =>
  RollgateClient.offline({ environment: ENV, snapshot: { environment: ENV, position: '1', flags, segments: [] }, trackExposures, outcomeSink: () => undefined });

type Loop = (n: number) => number;

/** Alternates the contenders pass by pass so drift (thermal, GC) hits all of them alike; median ns/op. */
function race(loops: Record<string, Loop>, n: number): Record<string, number> {
  const samples: Record<string, number[]> = {};
  for (const [name, loop] of Object.entries(loops)) {
    loop(n); // warm-up
    samples[name] = [];
  }
  for (let p = 0; p < PASSES; p++) {
    for (const [name, loop] of Object.entries(loops)) {
      const t0 = process.hrtime.bigint();
      loop(n);
      samples[name]!.push(Number(process.hrtime.bigint() - t0) / n);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

function evaluationRows(): string[] {
  const engine = new EvaluationEngine(ENV);
  engine.load({ environment: ENV, flags: rollgateFlags() });
  const sdk = offlineClient(rollgateFlags(), true);
  const sdkNoExposure = offlineClient(rollgateFlags(), false);
  const rows: string[] = [];
  for (const key of SCENARIOS) {
    const result = race(
      {
        engineIsEnabled: (n) => { let on = 0; for (let i = 0; i < n; i++) if (engine.isEnabled(key, contexts[i % USERS]!)) on++; return on; },
        sdkIsEnabled: (n) => { let on = 0; for (let i = 0; i < n; i++) if (sdk.isEnabled(key, contexts[i % USERS]!)) on++; return on; },
        sdkIsEnabledNoExposure: (n) => { let on = 0; for (let i = 0; i < n; i++) if (sdkNoExposure.isEnabled(key, contexts[i % USERS]!)) on++; return on; },
        engineEvaluate: (n) => { let on = 0; for (let i = 0; i < n; i++) if (engine.evaluate(key, contexts[i % USERS]!, false).value) on++; return on; },
        sdkEvaluate: (n) => { let on = 0; for (let i = 0; i < n; i++) if (sdk.evaluate(key, contexts[i % USERS]!, false).value) on++; return on; },
      },
      PASS,
    );
    const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)} %`;
    rows.push(
      `| ${key} | ${result['engineIsEnabled']!.toFixed(1)} | ${result['sdkIsEnabled']!.toFixed(1)} (${pct(result['sdkIsEnabled']!, result['engineIsEnabled']!)}) | ` +
        `${result['sdkIsEnabledNoExposure']!.toFixed(1)} (${pct(result['sdkIsEnabledNoExposure']!, result['engineIsEnabled']!)}) | ` +
        `${result['engineEvaluate']!.toFixed(1)} | ${result['sdkEvaluate']!.toFixed(1)} (${pct(result['sdkEvaluate']!, result['engineEvaluate']!)}) |`,
    );
  }
  return rows;
}

async function openFeatureRows(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-sdk-bench-'));
  const flagFile = join(dir, 'flags.json');
  writeFileSync(flagFile, JSON.stringify({ flags: flagdFlags() }));
  const { FlagdProvider } = await import('@openfeature/flagd-provider');
  await OpenFeature.setProviderAndWait('rollgate', new RollgateProvider(offlineClient(rollgateFlags(), true)));
  await OpenFeature.setProviderAndWait('flagd', new FlagdProvider({ resolverType: 'in-process', offlineFlagSourcePath: flagFile }));
  const clients: Record<string, OfClient> = { rollgate: OpenFeature.getClient('rollgate'), flagd: OpenFeature.getClient('flagd') };
  const rows: string[] = [];
  for (const key of SCENARIOS as readonly Scenario[]) {
    const samples: Record<string, number[]> = { rollgate: [], flagd: [], direct: [] };
    const provider = new RollgateProvider(offlineClient(rollgateFlags(), true));
    const direct = (n: number) => { let on = 0; for (let i = 0; i < n; i++) if (provider.resolve(key, false, contexts[i % USERS]!).value) on++; return on; };
    direct(OF_PASS);
    const shares: Record<string, number> = {};
    const run = async (name: string, n: number) => {
      const client = clients[name]!;
      let on = 0;
      for (let i = 0; i < n; i++) if (await client.getBooleanValue(key, false, contexts[i % USERS]!)) on++;
      return on;
    };
    for (const name of Object.keys(clients)) shares[name] = (await run(name, OF_PASS)) / OF_PASS;
    for (let p = 0; p < PASSES; p++) {
      for (const name of Object.keys(clients)) {
        const t0 = process.hrtime.bigint();
        await run(name, OF_PASS);
        samples[name]!.push(Number(process.hrtime.bigint() - t0) / OF_PASS);
      }
      const t0 = process.hrtime.bigint();
      direct(OF_PASS);
      samples['direct']!.push(Number(process.hrtime.bigint() - t0) / OF_PASS);
    }
    const r = median(samples['rollgate']!);
    const f = median(samples['flagd']!);
    rows.push(`| ${key} | ${r.toFixed(0)} | ${f.toFixed(0)} | ${(f / r).toFixed(2)}× | ${median(samples['direct']!).toFixed(0)} | ${(shares['rollgate']! * 100).toFixed(1)} % / ${(shares['flagd']! * 100).toFixed(1)} % |`);
  }
  await OpenFeature.close();
  rmSync(dir, { recursive: true, force: true });
  return rows;
}

type MemoryKind = 'sdk' | 'sdk-window' | 'engine';

/**
 * Child process: heap growth from holding 10 000 flags, as a bare engine or as a client (sync state + engine +
 * exposure counters), each flag evaluated once; `sdk` after the outcome window was flushed, `sdk-window` while
 * the window with those 10 000 exposures is still open (what a busy client holds between flushes).
 */
function memoryChild(kind: MemoryKind): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const settle = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
  // A first holder is built and dropped so code compilation and module-level caches are in the baseline; the
  // input is built first too: a snapshot arrives as parsed JSON, and only what the holder keeps counts.
  const build = (flags: FlagDefinition[]): unknown => {
    if (kind !== 'engine') {
      const client = offlineClient(flags, true);
      for (let i = 0; i < MEMORY_FLAGS; i++) client.isEnabled(memoryFlagKey(i), contexts[0]!);
      if (kind === 'sdk') client.flushOutcomes();
      return client;
    }
    const engine = new EvaluationEngine(ENV);
    engine.load({ environment: ENV, flags });
    for (let i = 0; i < MEMORY_FLAGS; i++) engine.isEnabled(memoryFlagKey(i), contexts[0]!);
    return engine;
  };
  const json = JSON.stringify(rollgateMemoryFlags());
  build(JSON.parse(json) as FlagDefinition[]);
  const before = settle();
  const holder = build(JSON.parse(json) as FlagDefinition[]);
  const after = settle();
  process.stdout.write(JSON.stringify({ heapMiB: mib(after - before), held: holder !== null }));
}

function memoryRun(kind: MemoryKind): number {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const out = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), `--memory=${kind}`], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(out.stderr);
    runs.push((JSON.parse(out.stdout) as { heapMiB: number }).heapMiB);
  }
  return median(runs);
}

async function main(): Promise<void> {
  const memoryArg = process.argv.find((a) => a.startsWith('--memory='));
  if (memoryArg !== undefined) return memoryChild(memoryArg.slice('--memory='.length) as MemoryKind);

  console.log(`# SDK benchmark (Node ${process.version}, ${PASSES} passes, median)\n`);
  console.log('## (a) Evaluation: SDK vs raw engine, ns/op (overhead vs engine)\n');
  console.log('| flag | engine.isEnabled | client.isEnabled | client.isEnabled, exposures off | engine.evaluate | client.evaluate |');
  console.log('|---|---|---|---|---|---|');
  for (const row of evaluationRows()) console.log(row);

  console.log(`\n## (b) Heap holding ${MEMORY_FLAGS.toLocaleString('en')} flags (fresh process, --expose-gc, median of 3)\n`);
  console.log('| holder | heap MiB |');
  console.log('|---|---|');
  console.log(`| EvaluationEngine alone | ${memoryRun('engine').toFixed(2)} |`);
  console.log(`| RollgateClient (state + engine + exposure counters), after the window flush | ${memoryRun('sdk').toFixed(2)} |`);
  console.log(`| RollgateClient, window still open (10 000 flags' exposures counted) | ${memoryRun('sdk-window').toFixed(2)} |`);

  console.log('\n## (c) OpenFeature client.getBooleanValue: RollgateProvider vs flagd-provider in-process, ns/op\n');
  console.log('| flag | Rollgate provider | flagd in-process | flagd / Rollgate | RollgateProvider.resolve() alone | share on (Rollgate / flagd) |');
  console.log('|---|---|---|---|---|---|');
  for (const row of await openFeatureRows()) console.log(row);
}

await main();
