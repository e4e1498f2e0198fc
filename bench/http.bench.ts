/**
 * bench:http (issue 11): the gateway's HTTP reads at 50 connections (autocannon in its own process), each beside
 * (a) the ceiling, a bare node:http server in another process answering the same bytes, and (b) unleash-server
 * 7.5.1 on the same 15 flags where it has an equivalent route:
 *   payload       GET /api/v1/environments/production/snapshot  | GET /api/client/features (backend token)
 *   single flag   GET /api/v1/feature-flags/{key}/evaluate?user_id=<random>, POST /ofrep/v1/evaluate/flags/{key}  | none
 *   bulk          POST /ofrep/v1/evaluate/flags (a random user)   | GET /api/frontend?userId=<random> (frontend token)
 * Each target: a warm-up, then BENCH_RUNS runs of BENCH_SECONDS; medians of the runs, min-max of req/s beside.
 * Run: npm run bench:http. Env: BENCH_RUNS (3), BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_UNLEASH (1; 0 skips it),
 * BENCH_ONLY (a regex over group and name), BENCH_GATEWAY_NODE_OPTIONS (e.g. --cpu-prof for the gateway process).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CeilingRoutes } from './http-ceiling.js';
import type { LoadPlan, LoadResult } from './http-load.js';
import { startSystem, type RunningSystem } from './service-launcher.js';
import { startUnleash, type BenchFlag, type RunningUnleash } from './unleash-server.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const WARMUP_SECONDS = 3;
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const WITH_UNLEASH = process.env['BENCH_UNLEASH'] !== '0';
/** Only the targets whose group or name matches (e.g. `bulk`). */
const ONLY = new RegExp(process.env['BENCH_ONLY'] ?? '');
const KEY = 'rollout-10';
const FLAGS: BenchFlag[] = [
  { key: KEY, percentage: 10 },
  { key: 'simple-on', percentage: 100 },
  ...Array.from({ length: 13 }, (_, i) => ({ key: `filler-${i}`, percentage: (i * 7 + 5) % 100 })),
];

interface Target {
  group: 'payload' | 'single flag' | 'bulk';
  name: string;
  plan: Omit<LoadPlan, 'connections' | 'durationSeconds'>;
}

interface Measured extends Target {
  runs: LoadResult[];
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

function load(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(here('./http-load.js'), { stdio: 'inherit' });
    child.once('message', (result: LoadResult) => {
      child.kill();
      resolve(result);
    });
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && code !== null && reject(new Error(`load generator exited ${code}`)));
    child.send(plan);
  });
}

async function startCeiling(routes: CeilingRoutes): Promise<{ url: string; stop(): void }> {
  const child = fork(here('./http-ceiling.js'), { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => {
    child.once('message', (message: { port: number }) => resolve(message.port));
    child.send(routes);
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function seedRollgate(system: RunningSystem): Promise<string> {
  const api = async (method: string, path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${system.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${system.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const parsed = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
    return parsed;
  };
  for (const flag of FLAGS) {
    await api('POST', '/api/v1/feature-flags', { name: flag.key, rollout_percentage: flag.percentage, target_environments: ['production'] });
  }
  const token = await api('POST', '/api/v1/tokens', { name: 'bench-browser', role: 'client', environment: 'production' });
  return String(token['token']);
}

/** What the gateway answers for a request, as bytes and content type: the ceiling serves exactly this. */
async function captured(url: string, init: RequestInit): Promise<{ body: string; contentType: string }> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return { body: Buffer.from(await response.arrayBuffer()).toString('base64'), contentType: response.headers.get('content-type') ?? 'application/json' };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function measure(target: Target): Promise<Measured> {
  await load({ ...target.plan, connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS });
  const runs: LoadResult[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await load({ ...target.plan, connections: CONNECTIONS, durationSeconds: SECONDS }));
  const rps = runs.map((r) => r.requestsPerSecond);
  process.stdout.write(
    `${target.group.padEnd(11)} ${target.name.padEnd(58)} ${Math.round(median(rps)).toLocaleString('en').padStart(7)} req/s ` +
      `(${Math.round(Math.min(...rps))}-${Math.round(Math.max(...rps))}) p50 ${median(runs.map((r) => r.p50))} ms p99 ${median(runs.map((r) => r.p99))} ms ` +
      `non-2xx ${runs.reduce((sum, r) => sum + r.non2xx, 0)} errors ${runs.reduce((sum, r) => sum + r.errors, 0)} ${runs[0]!.bytesPerRequest} B/req\n`,
  );
  return { ...target, runs };
}

async function main(): Promise<void> {
  const system = await startSystem({ gateway: { ROLLGATE_OFREP_RATE_LIMIT: '0', ...(process.env['BENCH_GATEWAY_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_GATEWAY_NODE_OPTIONS'] } : {}) } });
  let unleash: RunningUnleash | undefined;
  let ceiling: { url: string; stop(): void } | undefined;
  try {
    const token = await seedRollgate(system);
    const auth = { authorization: `Bearer ${token}` };
    const json = { ...auth, 'content-type': 'application/json' };
    const payloadPath = '/api/v1/environments/production/snapshot';
    const evaluatePath = `/api/v1/feature-flags/${KEY}/evaluate?user_id={user}`;
    const singlePath = `/ofrep/v1/evaluate/flags/${KEY}`;
    const bulkPath = '/ofrep/v1/evaluate/flags';
    const context = JSON.stringify({ context: { targetingKey: '{user}' } });
    const one = JSON.stringify({ context: { targetingKey: 'user-1' } });
    // Specific prefixes first: the ceiling takes the first that matches.
    ceiling = await startCeiling({
      [payloadPath]: await captured(`${system.gatewayUrl}${payloadPath}`, { headers: auth }),
      [`/api/v1/feature-flags/${KEY}/evaluate`]: await captured(`${system.gatewayUrl}${evaluatePath.replace('{user}', 'user-1')}`, { headers: auth }),
      [singlePath]: await captured(`${system.gatewayUrl}${singlePath}`, { method: 'POST', headers: json, body: one }),
      [bulkPath]: await captured(`${system.gatewayUrl}${bulkPath}`, { method: 'POST', headers: json, body: one }),
    });
    if (WITH_UNLEASH) unleash = await startUnleash(FLAGS);

    const targets: Target[] = [
      { group: 'payload', name: `Rollgate GET ${payloadPath}`, plan: { url: system.gatewayUrl, method: 'GET', path: payloadPath, headers: auth } },
      { group: 'payload', name: 'ceiling: node:http, the same bytes', plan: { url: ceiling.url, method: 'GET', path: payloadPath, headers: auth } },
      ...(unleash === undefined
        ? []
        : [{ group: 'payload', name: 'unleash-server 7.5.1 GET /api/client/features', plan: { url: unleash.url, method: 'GET', path: '/api/client/features', headers: { authorization: unleash.backendToken } } } satisfies Target]),
      { group: 'single flag', name: `Rollgate GET /api/v1/feature-flags/${KEY}/evaluate?user_id=`, plan: { url: system.gatewayUrl, method: 'GET', path: evaluatePath, headers: auth } },
      { group: 'single flag', name: 'ceiling: node:http, the same bytes', plan: { url: ceiling.url, method: 'GET', path: evaluatePath, headers: auth } },
      { group: 'single flag', name: `Rollgate OFREP POST ${singlePath}`, plan: { url: system.gatewayUrl, method: 'POST', path: singlePath, headers: json, body: context } },
      { group: 'single flag', name: 'ceiling: node:http, the same bytes', plan: { url: ceiling.url, method: 'POST', path: singlePath, headers: json, body: context } },
      { group: 'bulk', name: `Rollgate OFREP POST ${bulkPath}`, plan: { url: system.gatewayUrl, method: 'POST', path: bulkPath, headers: json, body: context } },
      { group: 'bulk', name: 'ceiling: node:http, the same bytes', plan: { url: ceiling.url, method: 'POST', path: bulkPath, headers: json, body: context } },
      ...(unleash === undefined
        ? []
        : [{ group: 'bulk', name: 'unleash-server 7.5.1 GET /api/frontend?userId=', plan: { url: unleash.url, method: 'GET', path: '/api/frontend?userId={user}&environment=production', headers: { authorization: unleash.frontendToken } } } satisfies Target]),
    ];
    process.stdout.write(`bench:http: ${FLAGS.length} flags, ${CONNECTIONS} connections, ${RUNS} runs of ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up\n`);
    const measured: Measured[] = [];
    for (const target of targets.filter((t) => ONLY.test(`${t.group} ${t.name}`))) measured.push(await measure(target));
    process.stdout.write(`${JSON.stringify(measured.map((m) => ({ group: m.group, name: m.name, runs: m.runs })))}\n`);
  } finally {
    ceiling?.stop();
    await unleash?.stop();
    await system.stop();
  }
}

await main();
