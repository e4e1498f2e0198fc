/**
 * How long `rollgate` takes to start and answer, as a shell or a pipeline pays it: the built CLI spawned as a new
 * process per run (BENCH_RUNS, default 30), wall time from spawn to exit. No network: `--dry-run` goes through
 * argument parsing, configuration, the request and its JSON output and stops before sending. For comparison, the
 * cost of the imports the CLI avoids on its HTTP path: the platform lib (Nest, pino, prom-client) and the bus
 * stack (NATS client and messaging lib, loaded only for `--via nats`).
 * Run: npm run bench:cli.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 30);
const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = resolve(ROOT, 'dist/apps/cli/src/main.js');
const ENV = { PATH: process.env['PATH'] ?? '', ROLLGATE_URL: 'http://127.0.0.1:9', ROLLGATE_TOKEN: 'bench', NATS_PASSWORD: 'bench' };

interface Case {
  name: string;
  args: string[];
}

/** `node -e` importing each module, as the CLI's main would. */
const importing = (...modules: string[]): string[] => ['--input-type=module', '-e', modules.map((m) => `await import(${JSON.stringify(m)});`).join(' ')];
const dist = (path: string): string => resolve(ROOT, 'dist', path);

const CASES: Case[] = [
  { name: 'rollgate --version', args: [CLI, '--version'] },
  { name: 'rollgate rollbacks emergency <flag> --dry-run (HTTP)', args: [CLI, 'rollbacks', 'emergency', 'checkout', '--reason', 'bench', '--dry-run'] },
  { name: 'rollgate --via nats rollbacks emergency <flag> --dry-run', args: [CLI, '--via', 'nats', 'rollbacks', 'emergency', 'checkout', '--dry-run'] },
  { name: 'node: import the contracts lib (every CLI run loads it)', args: importing(dist('libs/contracts/src/index.js')) },
  { name: 'node: import the platform lib (the CLI does not)', args: importing(dist('libs/platform/src/index.js')) },
  { name: 'node: import the messaging lib + NATS client (--via nats only)', args: importing(dist('libs/messaging/src/index.js'), '@nats-io/transport-node') },
  { name: 'node: an empty program (the floor)', args: ['-e', ''] },
];

function timeRun(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, env: ENV, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

console.log(`CLI start-up, ${RUNS} runs each, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${process.version}`);
console.log('case'.padEnd(66), 'min'.padStart(7), 'p50'.padStart(7), 'p95'.padStart(7), ' ms');
for (const c of CASES) {
  timeRun(c.args); // warm the file cache
  const times = Array.from({ length: RUNS }, () => timeRun(c.args)).sort((a, b) => a - b);
  console.log(c.name.padEnd(66), ...[times[0]!, quantile(times, 0.5), quantile(times, 0.95)].map((t) => t.toFixed(0).padStart(7)));
}
