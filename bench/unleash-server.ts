/**
 * unleash-server 7.5.1 for bench:http: installed on demand into bench/unleash (its own package.json, never the
 * root lockfile), run as a process on a database of its own on the same PostgreSQL, with tokens from INIT_*_API_TOKENS
 * and flags seeded through its admin API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import pg from 'pg';

const DIR = resolve(import.meta.dirname, '../../bench/unleash');
const SERVER = resolve(DIR, 'node_modules/unleash-server/dist/server.js');

export interface BenchFlag {
  key: string;
  /** Percentage of users (0-100) it is on for. */
  percentage: number;
}

export interface RunningUnleash {
  url: string;
  backendToken: string;
  frontendToken: string;
  stop(): Promise<void>;
}

const adminUrl = (): string => process.env['ROLLGATE_ADMIN_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const freePort = (): Promise<number> =>
  new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });

/** npm install in bench/unleash when unleash-server is not there yet; throws with npm's output when it fails. */
export function ensureUnleashInstalled(): void {
  if (existsSync(SERVER)) return;
  process.stdout.write('installing unleash-server 7.5.1 into bench/unleash (once)\n');
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: DIR, stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000 });
  if (npm.status !== 0 || !existsSync(SERVER)) throw new Error(`npm install of unleash-server failed: ${npm.stderr?.toString().slice(-2_000)}`);
}

export async function startUnleash(flags: readonly BenchFlag[]): Promise<RunningUnleash> {
  ensureUnleashInstalled();
  const database = `rollgate_test_bench_unleash_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${database}`);
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  const port = await freePort();
  const secret = randomBytes(12).toString('hex');
  const tokens = { admin: `*:*.${secret}a`, backend: `default:production.${secret}b`, frontend: `default:production.${secret}f` };
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [SERVER], {
    cwd: DIR,
    env: {
      ...process.env,
      TZ: 'UTC',
      DATABASE_URL: url.toString(),
      DATABASE_SSL: 'false',
      HTTP_PORT: String(port),
      PORT: String(port),
      LOG_LEVEL: 'error',
      INIT_ADMIN_API_TOKENS: tokens.admin,
      INIT_BACKEND_API_TOKENS: tokens.backend,
      INIT_FRONTEND_API_TOKENS: tokens.frontend,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
    }
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  };
  try {
    await until(`unleash-server on ${port}`, async () => (await fetch(`${base}/health`)).ok, 120_000);
    const call = async (method: string, path: string, body?: unknown): Promise<void> => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: tokens.admin, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) throw new Error(`unleash ${method} ${path}: ${response.status} ${await response.text()}`);
    };
    for (const flag of flags) {
      const project = '/api/admin/projects/default/features';
      await call('POST', project, { name: flag.key, type: 'release' });
      // The same flag as Rollgate's: on for `percentage` % of users hashed on userId, in production.
      await call('POST', `${project}/${flag.key}/environments/production/strategies`, {
        name: 'flexibleRollout',
        parameters: { rollout: String(flag.percentage), stickiness: 'userId', groupId: flag.key },
        constraints: [{ contextName: 'environment', operator: 'IN', values: ['production'] }],
      });
      await call('POST', `${project}/${flag.key}/environments/production/on`);
    }
    // Its client payload follows a revision id refreshed every second: wait until every flag is in it.
    await until('unleash client payload with every flag', async () => {
      const response = await fetch(`${base}/api/client/features`, { headers: { authorization: tokens.backend } });
      return ((await response.json()) as { features: unknown[] }).features.length === flags.length;
    });
    return { url: base, backendToken: tokens.backend, frontendToken: tokens.frontend, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; unleash output: ${output.join('').slice(-2_000)}`);
  }
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}
