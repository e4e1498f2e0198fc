#!/usr/bin/env node
// npm start: infrastructure (scripts/infra.mjs), build, then each service below: its database, its migrations
// (as rollgate_owner), the process itself (as rollgate_app), and a wait for /health/ready. Ctrl-C stops them
// (SIGTERM, then SIGKILL after 10 s).
//
// The contract a service plugs into: dist/apps/<name>/src/main.js
//   `main.js migrate` with ROLLGATE_MIGRATION_DATABASE_URL   applies its migrations and exits 0
//   `main.js` with DATABASE_URL, NATS_URL, ROLLGATE_HTTP_PORT, ROLLGATE_ADMIN_TOKEN
//                                                            serves GET /health/ready (200 when ready) and /metrics
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureInfra } from './infra.mjs';

/** The services `npm start` runs, in start order. `database: true` gives the service rollgate_<name>. */
const SERVICES = [
  { name: 'flags', port: 3001, database: true },
  { name: 'gateway', port: 3000, database: false },
];

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN_FILE = path.join(REPO, '.rollgate', 'admin-token');
const READY_TIMEOUT_MS = Number(process.env.ROLLGATE_START_TIMEOUT_MS ?? 60_000);
const KILL_AFTER_MS = 10_000;

const children = new Map();
let stopping = false;

function say(line) {
  process.stdout.write(`[start] ${line}\n`);
}

function adminToken() {
  if (process.env.ROLLGATE_ADMIN_TOKEN) return process.env.ROLLGATE_ADMIN_TOKEN;
  try {
    const token = fs.readFileSync(TOKEN_FILE, 'utf8').trim();
    if (token) return token;
  } catch {
    // first start
  }
  const token = randomBytes(32).toString('base64url');
  fs.mkdirSync(path.dirname(TOKEN_FILE), { recursive: true });
  fs.writeFileSync(TOKEN_FILE, `${token}\n`, { mode: 0o600 });
  return token;
}

function runToEnd(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', cwd: REPO, ...options });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

function prefixed(stream, name, out) {
  readline.createInterface({ input: stream }).on('line', (line) => out.write(`[${name}] ${line}\n`));
}

async function ensureDatabase(adminUrl, name) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE "${name}" OWNER rollgate_owner`);
      say(`created database ${name}`);
    } catch (err) {
      if (err.code !== '42P04') throw err; // created concurrently
    }
  } finally {
    await client.end();
  }
}

async function waitReady(service, child) {
  const url = `http://127.0.0.1:${service.port}/health/ready`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${service.name} exited (${child.signalCode ?? `code ${child.exitCode}`}) before it was ready`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${service.name} was not ready at ${url} after ${READY_TIMEOUT_MS / 1000} s (raise ROLLGATE_START_TIMEOUT_MS, or read its log above)`,
  );
}

function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  const running = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
  if (running.length) say(`stopping ${[...children.keys()].join(', ')}`);
  for (const child of running) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, KILL_AFTER_MS);
  Promise.all(
    running.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.on('exit', r)))),
  ).then(() => {
    clearTimeout(timer);
    process.exit(exitCode);
  });
}

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stopAll(0));

  const infra = await ensureInfra();
  const { ROLLGATE_ADMIN_DATABASE_URL: adminUrl, ROLLGATE_PG_HOST: host, ROLLGATE_PG_PORT: port } = infra;
  await runToEnd('npm', ['run', 'build']);
  const token = adminToken();

  const started = [];
  for (const service of SERVICES) {
    if (stopping) return;
    const main = path.join(REPO, 'dist', 'apps', service.name, 'src', 'main.js');
    if (!fs.existsSync(main)) {
      say(`skipping ${service.name}: ${path.relative(REPO, main)} does not exist (not built yet)`);
      continue;
    }
    const dbName = `rollgate_${service.name}`;
    const env = {
      ...process.env,
      ...infra,
      NATS_URL: infra.NATS_URL,
      ROLLGATE_HTTP_PORT: String(service.port),
      ROLLGATE_ADMIN_TOKEN: token,
    };
    if (service.database) {
      await ensureDatabase(adminUrl, dbName);
      say(`migrating ${dbName}`);
      await runToEnd(process.execPath, [main, 'migrate'], {
        env: { ...env, ROLLGATE_MIGRATION_DATABASE_URL: `postgres://rollgate_owner@${host}:${port}/${dbName}` },
      });
      env.DATABASE_URL = `postgres://rollgate_app@${host}:${port}/${dbName}`;
    }
    say(`starting ${service.name} on port ${service.port}`);
    const child = spawn(process.execPath, [main], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(service.name, child);
    prefixed(child.stdout, service.name, process.stdout);
    prefixed(child.stderr, service.name, process.stderr);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`[start] ${service.name} exited (${signal ?? `code ${code}`}); stopping the others\n`);
      stopAll(1);
    });
    await waitReady(service, child);
    say(`${service.name} ready`);
    started.push(service);
  }

  if (started.length === 0) {
    say('no service is built yet; the infrastructure is up:');
    for (const [k, v] of Object.entries(infra)) say(`  ${k}=${v}`);
    return;
  }
  const lines = ['', 'Rollgate is running:'];
  const gateway = started.find((s) => s.name === 'gateway');
  if (gateway) {
    lines.push(`  API          http://127.0.0.1:${gateway.port}/api/v1`);
    lines.push(`  OpenAPI      http://127.0.0.1:${gateway.port}/api/docs`);
  }
  for (const s of started) {
    lines.push(`  ${s.name.padEnd(12)} http://127.0.0.1:${s.port}  (metrics /metrics, readiness /health/ready)`);
  }
  lines.push(`  NATS         ${infra.NATS_URL}`);
  lines.push(`  PostgreSQL   ${adminUrl}`);
  lines.push(`  admin token  ${token}   (Authorization: Bearer <token>; stored in .rollgate/admin-token)`);
  lines.push(
    'Ctrl-C stops the services (the infrastructure stays up; `npm run infra -- stop` stops private servers).',
    '',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`[start] ${err instanceof Error ? err.message : String(err)}\n`);
  stopping = false;
  if (children.size) stopAll(1);
  else process.exit(1);
});
