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
  logs(name: Service): string;
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

type Service = 'flags' | 'rollback' | 'canary' | 'gateway';

/**
 * Starts nats-server (deploy/nats/rollgate.conf, fresh passwords), then flags, the rollback and canary services
 * when asked, and the gateway: each on a database of its own, migrated, logged in to NATS as its own user. `env` adds to a
 * service's environment.
 */
export async function startSystem(
  env: Partial<Record<Service, Record<string, string>>> = {},
  options: { rollback?: boolean; canary?: boolean } = {},
): Promise<RunningSystem> {
  const children: ChildProcess[] = [];
  const services: Service[] = [
    'flags',
    ...(options.rollback ? (['rollback'] as const) : []),
    ...(options.canary ? (['canary'] as const) : []),
    'gateway',
  ];
  const output: Record<string, string[]> = Object.fromEntries([...services, 'migrate'].map((name) => [name, []]));
  const natsPort = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'rollgate-bench-nats-'));
  const system = randomBytes(5).toString('hex');
  const databaseOf = (name: Service): string => `rollgate_test_bench_${system}_${name}`;
  for (const name of services) {
    if (!DATABASE_NAME.test(databaseOf(name))) throw new Error(`not a test database name: ${databaseOf(name)}`);
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

  const run = (name: Service, args: string[], serviceEnv: Record<string, string>): ChildProcess => {
    const main = resolve(ROOT, `dist/apps/${name}/src/main.js`);
    const child = spawn(process.execPath, [main, ...args], { cwd: ROOT, env: { ...process.env, ...serviceEnv, ROLLGATE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      const lines = output[args[0] === 'migrate' ? 'migrate' : name]!;
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
    const ports = new Map<Service, number>();
    for (const name of services) ports.set(name, await freePort());
    for (const name of services) {
      const database = databaseOf(name);
      await admin(`CREATE DATABASE ${database} OWNER rollgate_owner`);
      created.push(database);
      const serviceEnv = {
        NATS_URL: natsUrl,
        ...natsAuth.natsLogin(credentials, name),
        ROLLGATE_HTTP_HOST: '127.0.0.1',
        ROLLGATE_HTTP_PORT: String(ports.get(name)),
        ROLLGATE_ADMIN_TOKEN: adminToken,
        DATABASE_URL: urlFor('rollgate_app', database),
        ROLLGATE_MIGRATION_DATABASE_URL: urlFor('rollgate_owner', database),
        ...env[name],
      };
      const migrate = run(name, ['migrate'], serviceEnv);
      if ((await exited(migrate)) !== 0) throw new Error(`${name} migrate failed:\n${output['migrate']!.join('')}`);
      const child = run(name, [], serviceEnv);
      children.push(child);
      await until(`${name} /health/ready`, async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited:\n${output[name]!.join('')}`);
        return (await fetch(`http://127.0.0.1:${ports.get(name)}/health/ready`)).status === 200;
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
      gatewayUrl: `http://127.0.0.1:${ports.get('gateway')}`,
      flagsUrl: `http://127.0.0.1:${ports.get('flags')}`,
      adminToken,
      logs: (name) => output[name]!.join(''),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
