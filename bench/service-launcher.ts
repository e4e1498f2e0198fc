/**
 * The built flags service and gateway as processes on a private nats-server and a fresh database, as
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

const ROOT = resolve(import.meta.dirname, '../..');
const DATABASE_NAME = /^rollgate_test_[a-z0-9_]+$/;

export interface RunningSystem {
  natsUrl: string;
  gatewayUrl: string;
  flagsUrl: string;
  adminToken: string;
  /** The last lines a service printed (for errors). */
  logs(name: 'flags' | 'rollback' | 'gateway'): string;
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

/**
 * Starts nats-server, a database, `flags migrate`, the flags service and the gateway (and, with `rollback`, the
 * rollback service on a database of its own); `env` adds to each service's environment.
 */
export async function startSystem(
  env: Partial<Record<'flags' | 'rollback' | 'gateway', Record<string, string>>> = {},
  options: { rollback?: boolean } = {},
): Promise<RunningSystem> {
  const children: ChildProcess[] = [];
  const output: Record<string, string[]> = { flags: [], rollback: [], gateway: [], migrate: [] };
  const natsPort = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'rollgate-bench-nats-'));
  const database = `rollgate_test_bench_${randomBytes(5).toString('hex')}`;
  if (!DATABASE_NAME.test(database)) throw new Error(`not a test database name: ${database}`);
  const adminToken = randomBytes(24).toString('hex');
  const nats = spawn(process.env['NATS_SERVER_BIN'] ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', storeDir], { stdio: 'ignore' });
  children.push(nats);
  let dbCreated = false;

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
    if (dbCreated) await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    if (dbCreated && options.rollback) await admin(`DROP DATABASE IF EXISTS ${database}_rollback WITH (FORCE)`);
  };

  const run = (name: 'flags' | 'rollback' | 'gateway' | 'migrate', args: string[], serviceEnv: Record<string, string>, app: string = name === 'migrate' ? 'flags' : name): ChildProcess => {
    const main = resolve(ROOT, `dist/apps/${name === 'migrate' ? app : name}/src/main.js`);
    const child = spawn(process.execPath, [main, ...args], { cwd: ROOT, env: { ...process.env, ...serviceEnv, ROLLGATE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      const lines = output[name]!;
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
    await admin(`CREATE DATABASE ${database} OWNER rollgate_owner`);
    dbCreated = true;
    const [flagsPort, gatewayPort, rollbackPort] = [await freePort(), await freePort(), await freePort()];
    const common = { NATS_URL: natsUrl, ROLLGATE_HTTP_HOST: '127.0.0.1', ROLLGATE_ADMIN_TOKEN: adminToken };
    const flagsEnv = {
      ...common,
      ROLLGATE_HTTP_PORT: String(flagsPort),
      DATABASE_URL: urlFor('rollgate_app', database),
      ROLLGATE_MIGRATION_DATABASE_URL: urlFor('rollgate_owner', database),
      ...env.flags,
    };
    const migrate = run('migrate', ['migrate'], flagsEnv);
    if ((await exited(migrate)) !== 0) throw new Error(`flags migrate failed:\n${output['migrate']!.join('')}`);
    const services: Array<readonly ['flags' | 'rollback' | 'gateway', number, Record<string, string>]> = [['flags', flagsPort, flagsEnv]];
    if (options.rollback) {
      await admin(`CREATE DATABASE ${database}_rollback OWNER rollgate_owner`);
      const rollbackEnv = {
        ...common,
        ROLLGATE_HTTP_PORT: String(rollbackPort),
        DATABASE_URL: urlFor('rollgate_app', `${database}_rollback`),
        ROLLGATE_MIGRATION_DATABASE_URL: urlFor('rollgate_owner', `${database}_rollback`),
        ...env.rollback,
      };
      const migrateRollback = run('migrate', ['migrate'], rollbackEnv, 'rollback');
      if ((await exited(migrateRollback)) !== 0) throw new Error(`rollback migrate failed:\n${output['migrate']!.join('')}`);
      services.push(['rollback', rollbackPort, rollbackEnv]);
    }
    services.push(['gateway', gatewayPort, { ...common, ROLLGATE_HTTP_PORT: String(gatewayPort), ...env.gateway }]);
    for (const [name, port, serviceEnv] of services) {
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
