/**
 * Local evaluation speed and memory of the Rollgate engine against unleash-client, flagd-core and
 * GrowthBook, on the flags of perf-anchors.md. Each engine runs in its own child process (so one
 * engine's JIT state cannot slow another), and memory is measured in fresh processes with --expose-gc.
 * Run: npm run bench:eval. Env: BENCH_PASSES (default 7), BENCH_MEMORY_RUNS (default 3).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ENGINES, loadEngine, preloadEngine, type EngineName, type User } from './eval/adapters.js';
import { SCENARIOS, type Scenario } from './eval/peer-flags.js';

const USERS = 100_000;
const PASS = 1_000_000;
const PASSES = Number(process.env.BENCH_PASSES ?? 7);
const MEMORY_RUNS = Number(process.env.BENCH_MEMORY_RUNS ?? 3);
const PEERS: EngineName[] = ['flagd-core', 'growthbook', 'unleash-client'];

interface SpeedResult { engine: EngineName; scenario: Scenario; nsPerOp: number[]; share: number }
interface MemoryResult { engine: EngineName; loadMs: number; heapMiB: number; rssMiB: number }

const users = (): User[] => Array.from({ length: USERS }, (_, i) => ({ id: `user-${i}`, environment: 'production', plan: 'free' }));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number) => bytes / 1024 / 1024;

async function speedChild(engine: EngineName): Promise<SpeedResult[]> {
  const loaded = await loadEngine(engine, users(), false);
  const results: SpeedResult[] = [];
  for (const scenario of SCENARIOS) {
    const loop = loaded.loop(scenario);
    const share = loop(USERS, USERS) / USERS; // also the warm-up's first part
    loop(USERS, PASS);
    const nsPerOp: number[] = [];
    for (let p = 0; p < PASSES; p++) {
      const t0 = process.hrtime.bigint();
      loop(USERS, PASS);
      nsPerOp.push(Number(process.hrtime.bigint() - t0) / PASS);
    }
    results.push({ engine, scenario, nsPerOp, share });
  }
  loaded.close();
  return results;
}

async function memoryChild(engine: EngineName): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const one: User[] = [{ id: 'user-0', environment: 'production', plan: 'free' }];
  await preloadEngine(engine);
  const settle = () => { gc(); gc(); return process.memoryUsage(); };
  const before = settle();
  const t0 = performance.now();
  const loaded = await loadEngine(engine, one, true);
  const loadMs = performance.now() - t0;
  loaded.touchAll!();
  const after = settle();
  loaded.close();
  return { engine, loadMs, heapMiB: mib(after.heapUsed - before.heapUsed), rssMiB: mib(after.rss - before.rss) };
}

function child<T>(args: string[]): T {
  const run = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`child ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as T;
}

function main(): void {
  console.log(`node ${process.version}; ${USERS} users; ${PASSES} timed passes of ${PASS} evaluations after one warm-up pass`);
  const speed: SpeedResult[] = [];
  for (const engine of ENGINES) {
    process.stderr.write(`speed: ${engine}\n`);
    speed.push(...child<SpeedResult[]>(['--child', 'speed', engine]));
  }
  const lines = ['| flag | engine | median ns/op | ops/s | min-max ns/op | share on | best peer / engine |', '|---|---|---:|---:|---|---:|---:|'];
  for (const scenario of SCENARIOS) {
    const rows = speed.filter((r) => r.scenario === scenario);
    const bestPeer = Math.min(...rows.filter((r) => PEERS.includes(r.engine)).map((r) => median(r.nsPerOp)));
    for (const r of rows) {
      const m = median(r.nsPerOp);
      lines.push(`| ${scenario} | ${r.engine} | ${m.toFixed(1)} | ${Math.round(1e9 / m).toLocaleString('en-US')} | ${Math.min(...r.nsPerOp).toFixed(1)}-${Math.max(...r.nsPerOp).toFixed(1)} | ${r.share.toFixed(4)} | ${(bestPeer / m).toFixed(2)}x |`);
    }
  }
  console.log(`\n${lines.join('\n')}`);

  const memory = ['| engine | load 10k flags ms | heapUsed delta MiB | RSS delta MiB |', '|---|---:|---:|---:|'];
  for (const engine of ENGINES.filter((e) => e !== 'rollgate-isEnabled')) {
    process.stderr.write(`memory: ${engine}\n`);
    const runs = Array.from({ length: MEMORY_RUNS }, () => child<MemoryResult>(['--child', 'memory', engine]));
    const span = (f: (r: MemoryResult) => number, digits: number) =>
      `${median(runs.map(f)).toFixed(digits)} (${Math.min(...runs.map(f)).toFixed(digits)}-${Math.max(...runs.map(f)).toFixed(digits)})`;
    memory.push(`| ${engine} | ${span((r) => r.loadMs, 1)} | ${span((r) => r.heapMiB, 2)} | ${span((r) => r.rssMiB, 1)} |`);
  }
  console.log(`\nmedian (min-max) over ${MEMORY_RUNS} processes\n${memory.join('\n')}`);
}

const [, , flag, mode, engine] = process.argv;
if (flag === '--child') {
  const result = mode === 'speed' ? await speedChild(engine as EngineName) : await memoryChild(engine as EngineName);
  console.log(JSON.stringify(result));
  process.exit(0);
} else {
  main();
}
