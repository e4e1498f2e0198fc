#!/usr/bin/env node
// npm start: infrastructure (scripts/infra.mjs), build, then each service below: its database, its migrations
// (as rollgate_owner), the process itself (as rollgate_app), and a wait for /health/ready. Supervised
// (scripts/supervisor.mjs): a service that exits unexpectedly is reported and restarted with backoff (0.5 s doubling
// to 30 s, reset once it has stayed ready 60 s) while the others keep running. Ctrl-C stops them all (SIGTERM, then
// SIGKILL after 10 s) and nothing restarts.
//
// The contract a service plugs into: dist/apps/<name>/src/main.js
//   `main.js migrate` with ROLLGATE_MIGRATION_DATABASE_URL   applies its migrations and exits 0
//   `main.js` with DATABASE_URL, NATS_URL, NATS_USER/NATS_PASSWORD (the user named like the service in
//   deploy/nats/rollgate.conf), ROLLGATE_HTTP_PORT, ROLLGATE_ADMIN_TOKEN
//                                                            serves GET /health/ready (200 when ready) and /metrics
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureInfra } from './infra.mjs';
import { natsLogin, readCredentials } from './nats-auth.mjs';
import { Supervisor } from './supervisor.mjs';

/**
 * The services `npm start` runs, in start order: the one place to add a service. `database: true` gives the service
 * rollgate_<name>.
 */
const SERVICES = [
  { name: 'flags', port: 3001, database: true },
  { name: 'rollback', port: 3002, database: true },
  { name: 'canary', port: 3003, database: true },
  // The gateway's database holds its API tokens (never a service's: that service would publish them).
  { name: 'gateway', port: 3000, database: true },
];

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN_FILE = path.join(REPO, '.rollgate', 'admin-token');
const READY_TIMEOUT_MS = Number(process.env.ROLLGATE_START_TIMEOUT_MS ?? 60_000);
const KILL_AFTER_MS = 10_000;

let supervisor = null;
let stopping = false;

/** A path inside the checkout relative to it, any other as it is. */
function shortPath(file) {
  const relative = path.relative(REPO, file);
  return relative.startsWith('..') ? file : relative;
}

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

/** Polls /health/ready until it answers 200; gives up after READY_TIMEOUT_MS or when `signal` aborts. */
async function waitReady(service, signal) {
  const url = `http://127.0.0.1:${service.port}/health/ready`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    try {
      const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
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

/** What the supervisor runs for a built service: prepare (database, migrations) once, then spawn and wait. */
function supervisedEntry(service, main, infra, token, natsCredentials) {
  const { ROLLGATE_ADMIN_DATABASE_URL: adminUrl, ROLLGATE_PG_HOST: host, ROLLGATE_PG_PORT: port } = infra;
  const dbName = `rollgate_${service.name}`;
  const env = {
    ...process.env,
    ...infra,
    ...natsLogin(natsCredentials, service.name),
    ROLLGATE_HTTP_PORT: String(service.port),
    ROLLGATE_ADMIN_TOKEN: token,
  };
  return {
    name: service.name,
    async prepare() {
      if (!service.database) return;
      await ensureDatabase(adminUrl, dbName);
      say(`migrating ${dbName}`);
      await runToEnd(process.execPath, [main, 'migrate'], {
        env: { ...env, ROLLGATE_MIGRATION_DATABASE_URL: `postgres://rollgate_owner@${host}:${port}/${dbName}` },
      });
      env.DATABASE_URL = `postgres://rollgate_app@${host}:${port}/${dbName}`;
    },
    spawn() {
      say(`starting ${service.name} on port ${service.port}`);
      const child = spawn(process.execPath, [main], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      prefixed(child.stdout, service.name, process.stdout);
      prefixed(child.stderr, service.name, process.stderr);
      return child;
    },
    ready: ({ signal }) => waitReady(service, signal),
  };
}

function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  (supervisor ? supervisor.stop() : Promise.resolve()).then(() => process.exit(exitCode));
}

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stopAll(0));

  const infra = await ensureInfra();
  await runToEnd('npm', ['run', 'build']);
  if (stopping) return;
  const token = adminToken();
  const natsCredentials = readCredentials(infra.ROLLGATE_NATS_CREDENTIALS_FILE);

  const started = [];
  const entries = [];
  for (const service of SERVICES) {
    const main = path.join(REPO, 'dist', 'apps', service.name, 'src', 'main.js');
    if (!fs.existsSync(main)) {
      say(`skipping ${service.name}: ${path.relative(REPO, main)} does not exist (not built yet)`);
      continue;
    }
    started.push(service);
    entries.push(supervisedEntry(service, main, infra, token, natsCredentials));
  }

  if (started.length === 0) {
    say('no service is built yet; the infrastructure is up:');
    for (const [k, v] of Object.entries(infra)) say(`  ${k}=${v}`);
    return;
  }

  supervisor = new Supervisor(entries, {
    killAfterMs: KILL_AFTER_MS,
    log: (line) => process.stderr.write(`[start] ${line}\n`),
  });
  supervisor.on('ready', ({ name, attempt }) => attempt === 1 && say(`${name} ready`));
  await supervisor.start();
  if (stopping) return;

  const lines = ['', 'Rollgate is running:'];
  const gateway = started.find((s) => s.name === 'gateway');
  if (gateway) {
    lines.push(`  API          http://127.0.0.1:${gateway.port}/api/v1`);
    lines.push(`  OpenAPI      http://127.0.0.1:${gateway.port}/api/docs`);
  }
  for (const s of started) {
    lines.push(`  ${s.name.padEnd(12)} http://127.0.0.1:${s.port}  (metrics /metrics, readiness /health/ready)`);
  }
  lines.push(`  NATS         ${infra.NATS_URL}   (users and passwords: ${shortPath(infra.ROLLGATE_NATS_CREDENTIALS_FILE)})`);
  lines.push(`  SDK login    user sdk, password ${natsLogin(natsCredentials, 'sdk').NATS_PASSWORD}`);
  lines.push(`  PostgreSQL   ${infra.ROLLGATE_ADMIN_DATABASE_URL}`);
  lines.push(`  admin token  ${token}   (Authorization: Bearer <token>; stored in .rollgate/admin-token)`);
  if (gateway)
    lines.push(
      `  API tokens   POST http://127.0.0.1:${gateway.port}/api/v1/tokens {"name", "role"} with the admin token (docs/api.md)`,
    );
  lines.push(
    'A service that exits is restarted (0.5 s doubling to 30 s); Ctrl-C stops them all.',
    '(The infrastructure stays up; `npm run infra -- stop` stops private servers.)',
    '',
  );
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`[start] ${err instanceof Error ? err.message : String(err)}\n`);
  // start() has already stopped what it started; stopAll waits for that.
  stopping = false;
  stopAll(1);
});
