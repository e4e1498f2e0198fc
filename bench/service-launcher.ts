/**
 * The built flags service and gateway as processes on a private nats-server and a fresh database each, as
 * apps/e2e's harness starts them (that harness and libs/testing stay out of dist, so benches carry this copy).
 * Needs ROLLGATE_ADMIN_DATABASE_URL (scripts/with-infra.mjs sets it) and dist/ built.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { natsAuth } from './nats-auth.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DATABASE_NAME = /^rollgate_test_[a-z0-9_]+$/;

export interface RunningSystem {
  natsUrl: string;
  /** The login of a user of deploy/nats/rollgate.conf on this system's nats-server (`sdk` for clients). */
  natsCredentials(user: string): { user: string; password: string };
  gatewayUrl: string;
  flagsUrl: string;
  adminToken: string;
  /** The last lines a service printed (for errors). */
  logs(name: 'flags' | 'gateway'): string;
  stop(): Promise<void>;
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

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env['ROLLGATE_ADMIN_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const urlFor = (role: string, database: string): string => {
  const url = new URL(process.env['ROLLGATE_ADMIN_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.username = role;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
};

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((done) => child.once('exit', (code) => done(code)));
}

/** Starts nats-server, a database, `flags migrate`, the flags service and the gateway; `env` adds to each service's environment. */
export async function startSystem(env: Partial<Record<'flags' | 'gateway', Record<string, string>>> = {}): Promise<RunningSystem> {
  const children: ChildProcess[] = [];
  const output: Record<string, string[]> = { flags: [], gateway: [], migrate: [] };
  type Process = 'flags' | 'gateway' | 'migrate-flags' | 'migrate-gateway';
  const natsPort = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'rollgate-bench-nats-'));
  // The gateway's database (its API tokens) is its own, as in production: never the flags one.
  const system = randomBytes(5).toString('hex');
  const databases = { flags: `rollgate_test_bench_${system}_flags`, gateway: `rollgate_test_bench_${system}_gateway` };
  for (const database of Object.values(databases)) {
    if (!DATABASE_NAME.test(database)) throw new Error(`not a test database name: ${database}`);
  }
  const adminToken = randomBytes(24).toString('hex');
  const credentials = natsAuth.generateCredentials();
  const nats = spawn(process.env['NATS_SERVER_BIN'] ?? 'nats-server', natsAuth.natsServerArgs({ port: natsPort, storeDir }), {
    stdio: 'ignore',
    env: { ...process.env, ...credentials },
  });
  children.push(nats);
  const created: string[] = [];

  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited(child);
        clearTimeout(timer);
      }
    }
    rmSync(storeDir, { recursive: true, force: true });
    for (const database of created) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  };

  const run = (name: Process, args: string[], serviceEnv: Record<string, string>): ChildProcess => {
    const app = name === 'migrate-flags' ? 'flags' : name === 'migrate-gateway' ? 'gateway' : name;
    const main = resolve(ROOT, `dist/apps/${app}/src/main.js`);
    const child = spawn(process.execPath, [main, ...args], { cwd: ROOT, env: { ...process.env, ...serviceEnv, ROLLGATE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      const lines = output[name.startsWith('migrate') ? 'migrate' : name]!;
      lines.push(chunk.toString());
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return child;
  };

  try {
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    await until(`nats-server on ${natsPort}`, () =>
      new Promise((done) => {
        const socket = tcpConnect(natsPort, '127.0.0.1');
        socket.once('data', (chunk) => (socket.destroy(), done(chunk.toString().startsWith('INFO'))));
        socket.once('error', () => done(false));
      }),
    );
    await admin(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rollgate_owner') THEN CREATE ROLE rollgate_owner LOGIN; END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rollgate_app') THEN CREATE ROLE rollgate_app LOGIN; END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    for (const database of Object.values(databases)) {
      await admin(`CREATE DATABASE ${database} OWNER rollgate_owner`);
      created.push(database);
    }
    const [flagsPort, gatewayPort] = [await freePort(), await freePort()];
    const common = { NATS_URL: natsUrl, ROLLGATE_HTTP_HOST: '127.0.0.1', ROLLGATE_ADMIN_TOKEN: adminToken };
    const flagsEnv = {
      ...common,
      ...natsAuth.natsLogin(credentials, 'flags'),
      ROLLGATE_HTTP_PORT: String(flagsPort),
      DATABASE_URL: urlFor('rollgate_app', databases.flags),
      ROLLGATE_MIGRATION_DATABASE_URL: urlFor('rollgate_owner', databases.flags),
      ...env.flags,
    };
    const gatewayEnv = {
      ...common,
      ...natsAuth.natsLogin(credentials, 'gateway'),
      ROLLGATE_HTTP_PORT: String(gatewayPort),
      DATABASE_URL: urlFor('rollgate_app', databases.gateway),
      ROLLGATE_MIGRATION_DATABASE_URL: urlFor('rollgate_owner', databases.gateway),
      ...env.gateway,
    };
    for (const [name, serviceEnv] of [['migrate-flags', flagsEnv], ['migrate-gateway', gatewayEnv]] as const) {
      const migrate = run(name, ['migrate'], serviceEnv);
      if ((await exited(migrate)) !== 0) throw new Error(`${name} failed:\n${output['migrate']!.join('')}`);
    }
    for (const [name, port, serviceEnv] of [
      ['flags', flagsPort, flagsEnv],
      ['gateway', gatewayPort, gatewayEnv],
    ] as const) {
      const child = run(name, [], serviceEnv);
      children.push(child);
      await until(`${name} /health/ready`, async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited:\n${output[name]!.join('')}`);
        return (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200;
      }).catch((error: Error) => {
        throw new Error(`${error.message}\n--- ${name} ---\n${output[name]!.join('')}`);
      });
    }
    return {
      natsUrl,
      natsCredentials: (user) => {
        const login = natsAuth.natsLogin(credentials, user);
        return { user: login.NATS_USER, password: login.NATS_PASSWORD };
      },
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
      flagsUrl: `http://127.0.0.1:${flagsPort}`,
      adminToken,
      logs: (name) => output[name]!.join(''),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
