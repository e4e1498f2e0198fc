#!/usr/bin/env node
// Makes a usable PostgreSQL and NATS (with JetStream) reachable, in this order:
//   1. reuse running ones: PostgreSQL at ROLLGATE_ADMIN_DATABASE_URL; NATS at NATS_URL only when
//      ROLLGATE_NATS_CREDENTIALS_FILE gives its users' passwords (an open NATS is never reused);
//   2. else start private ones from installed binaries, with their data under <repo>/.rollgate/; the private
//      nats-server runs deploy/nats/rollgate.conf with random passwords kept in .rollgate/nats/credentials.env;
//   3. else install the Debian packages (postgresql, nats-server) and start private ones.
// Then bootstraps the roles rollgate_owner and rollgate_app and writes the resolved settings to .rollgate/infra.env.
//
//   node scripts/infra.mjs            ensure, print the settings as KEY=value lines
//   node scripts/infra.mjs stop       stop the private servers this script started (never system ones)
//   node scripts/infra.mjs --dry-run  print the commands it would run instead of running them
//
// Plain Node ESM that runs on Node 20 and 24; its only dependency is `pg`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { NATS_CONFIG, ensureCredentials, generateCredentials, natsServerArgs, readCredentials } from './nats-auth.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STATE_DIR = path.join(REPO, '.rollgate');
const PG_DIR = path.join(STATE_DIR, 'pg');
const PG_DATA = path.join(PG_DIR, 'data');
const PG_LOG = path.join(PG_DIR, 'postgres.log');
const NATS_DIR = path.join(STATE_DIR, 'nats');
const NATS_PID = path.join(STATE_DIR, 'nats.pid');
const NATS_LOG = path.join(STATE_DIR, 'nats.log');
const NATS_STAMP = path.join(STATE_DIR, 'nats.stamp');
const NATS_CREDENTIALS = path.join(STATE_DIR, 'nats', 'credentials.env');
const LOCK_FILE = path.join(STATE_DIR, 'infra.lock');
const ENV_FILE = path.join(STATE_DIR, 'infra.env');

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const PRIVATE_PG_PORT = 55432;
const PRIVATE_NATS_PORT = 4333;

const OWNER_ROLE = 'rollgate_owner';
const APP_ROLE = 'rollgate_app';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Ensures PostgreSQL and NATS with JetStream are reachable and the roles exist.
 * @param {{ env?: NodeJS.ProcessEnv, dryRun?: boolean, log?: (line: string) => void }} [options]
 * @returns {Promise<{ ROLLGATE_ADMIN_DATABASE_URL: string, ROLLGATE_PG_HOST: string, ROLLGATE_PG_PORT: string, NATS_URL: string, ROLLGATE_NATS_CREDENTIALS_FILE: string }>}
 */
export async function ensureInfra(options = {}) {
  const env = options.env ?? process.env;
  const dryRun = options.dryRun ?? env.ROLLGATE_INFRA_DRY_RUN === '1';
  const log = options.log ?? ((line) => process.stderr.write(`[infra] ${line}\n`));
  const ctx = { env, dryRun, log, installed: false };

  fs.mkdirSync(STATE_DIR, { recursive: true });
  const release = dryRun ? () => {} : await acquireLock(log);
  try {
    const adminUrl = await ensurePostgres(ctx);
    const nats = await ensureNats(ctx);
    if (dryRun) {
      log(`dry run: would bootstrap roles ${OWNER_ROLE} and ${APP_ROLE} on ${redact(adminUrl)}`);
    } else {
      await bootstrapRoles(adminUrl);
    }
    const u = new URL(adminUrl);
    const result = {
      ROLLGATE_ADMIN_DATABASE_URL: adminUrl,
      ROLLGATE_PG_HOST: u.hostname,
      ROLLGATE_PG_PORT: u.port || '5432',
      NATS_URL: nats.url,
      ROLLGATE_NATS_CREDENTIALS_FILE: nats.credentialsFile,
    };
    if (!dryRun) {
      const body = Object.entries(result)
        .map(([k, v]) => `${k}=${v}\n`)
        .join('');
      fs.writeFileSync(ENV_FILE, body);
    }
    return result;
  } finally {
    release();
  }
}

/** Stops the private servers under .rollgate/ (never a system service). */
export async function stopInfra(options = {}) {
  const log = options.log ?? ((line) => process.stderr.write(`[infra] ${line}\n`));
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const release = await acquireLock(log);
  try {
    if (fs.existsSync(path.join(PG_DATA, 'postmaster.pid'))) {
      const bin = findPgBin(process.env);
      if (!bin) throw new Error('a private PostgreSQL seems to be running but pg_ctl was not found');
      const data = fs.realpathSync(PG_DATA);
      log(`stopping private PostgreSQL (${data})`);
      const r = runAsPg([path.join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop'], { allowFail: true });
      if (r.status !== 0) log(`pg_ctl stop exited ${r.status}: ${r.stderr?.toString().trim()}`);
    } else {
      log('no private PostgreSQL running');
    }
    const pid = readPid(NATS_PID);
    if (pid && isAlive(pid)) {
      log(`stopping private nats-server (pid ${pid})`);
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    } else {
      log('no private nats-server running');
    }
    fs.rmSync(NATS_PID, { force: true });
    fs.rmSync(NATS_STAMP, { force: true });
    fs.rmSync(ENV_FILE, { force: true });
  } finally {
    release();
  }
}

// ---------------------------------------------------------------- PostgreSQL

async function ensurePostgres(ctx) {
  const configured = ctx.env.ROLLGATE_ADMIN_DATABASE_URL || DEFAULT_ADMIN_URL;
  if (await probePostgres(configured)) {
    ctx.log(`PostgreSQL: reusing ${redact(configured)}`);
    return configured;
  }
  const privateUrl = `postgres://postgres@127.0.0.1:${PRIVATE_PG_PORT}/postgres`;
  if (privateUrl !== configured && (await probePostgres(privateUrl))) {
    ctx.log(`PostgreSQL: ${redact(configured)} not reachable; reusing the private one at ${privateUrl}`);
    return privateUrl;
  }
  ctx.log(`PostgreSQL: nothing usable at ${redact(configured)}; starting a private one on port ${PRIVATE_PG_PORT}`);
  let bin = findPgBin(ctx.env);
  if (!bin) {
    installPackages(ctx);
    bin = ctx.dryRun ? '/usr/lib/postgresql/<version>/bin' : findPgBin(ctx.env);
    if (!bin) throw new Error('PostgreSQL binaries still not found under /usr/lib/postgresql/*/bin after installing');
  }
  startPrivatePostgres(ctx, bin);
  if (ctx.dryRun) return privateUrl;
  for (let i = 0; i < 100; i++) {
    if (await probePostgres(privateUrl)) return privateUrl;
    await sleep(200);
  }
  throw new Error(`the private PostgreSQL did not answer at ${privateUrl}; see ${PG_LOG}`);
}

/**
 * The private server's directory. Normally .rollgate/pg; when the postgres OS user cannot reach the checkout
 * (a clone under /root) or the socket path would pass the 107-byte limit, .rollgate/pg becomes a symlink to a
 * directory under /var/tmp.
 */
function privatePgDir(ctx) {
  if (ctx.dryRun || fs.existsSync(PG_DIR)) return fs.existsSync(PG_DIR) ? fs.realpathSync(PG_DIR) : PG_DIR;
  const reachable = !isRoot || spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', STATE_DIR]).status === 0;
  if (reachable && PG_DIR.length <= 80) {
    fs.mkdirSync(PG_DIR, { recursive: true });
    return PG_DIR;
  }
  const real = fs.mkdtempSync('/var/tmp/rollgate-pg-');
  fs.symlinkSync(real, PG_DIR);
  ctx.log(`the postgres user cannot use ${PG_DIR} directly; using ${real} (linked from it)`);
  return real;
}

function startPrivatePostgres(ctx, bin) {
  const initdb = path.join(bin, 'initdb');
  const pgCtl = path.join(bin, 'pg_ctl');
  const dir = privatePgDir(ctx);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const fresh = !fs.existsSync(path.join(data, 'PG_VERSION'));
  const initCmd = [initdb, '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8'];
  // -k: the Unix socket lives in .rollgate/pg, not /var/run/postgresql (which a system server may own).
  const startCmd = [
    pgCtl,
    '-D',
    data,
    '-l',
    logFile,
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${PRIVATE_PG_PORT} -k ${dir} -c listen_addresses=127.0.0.1`,
    'start',
  ];
  if (ctx.dryRun) {
    if (fresh) ctx.log(`dry run: would run ${asPgDisplay(initCmd)}`);
    ctx.log(`dry run: would run ${asPgDisplay(startCmd)}`);
    return;
  }
  // initdb refuses to run as root: the data directory belongs to the postgres OS user.
  if (isRoot) {
    fs.chmodSync(STATE_DIR, 0o755);
    spawnSync('chown', ['-R', 'postgres:postgres', dir], { stdio: 'inherit' });
  }
  if (fresh) {
    fs.rmSync(data, { recursive: true, force: true });
    ctx.log(`initdb ${data}`);
    runAsPg(initCmd);
  }
  // A postmaster.pid left by a crash makes pg_ctl refuse to start; pg_ctl itself removes a stale one when the pid is gone.
  runAsPg(startCmd);
  ctx.log(`PostgreSQL: private server started on 127.0.0.1:${PRIVATE_PG_PORT} (log ${logFile})`);
}

/** The newest PostgreSQL bin directory under ROLLGATE_PG_SEARCH (default /usr/lib/postgresql), or null. */
function findPgBin(env) {
  const roots = (env.ROLLGATE_PG_SEARCH ?? '/usr/lib/postgresql').split(':').filter(Boolean);
  const found = [];
  for (const root of roots) {
    let entries = [];
    try {
      entries = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const version of entries) {
      const bin = path.join(root, version, 'bin');
      if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'pg_ctl'))) {
        found.push({ bin, version: Number.parseInt(version, 10) || 0 });
      }
    }
  }
  found.sort((a, b) => b.version - a.version);
  return found[0]?.bin ?? null;
}

async function probePostgres(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function bootstrapRoles(adminUrl) {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    // rollgate_owner owns the databases and runs migrations (which grant to rollgate_app);
    // rollgate_app is the services' role and owns nothing.
    const roles = [
      [OWNER_ROLE, 'LOGIN NOSUPERUSER CREATEDB NOCREATEROLE'],
      [APP_ROLE, 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'],
    ];
    for (const [name, attrs] of roles) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
      if (rowCount) continue;
      try {
        await client.query(`CREATE ROLE ${name} ${attrs}`);
      } catch (err) {
        // Another process (a server not guarded by our lock file) created it first.
        if (err.code !== '42710' && err.code !== '23505') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------- NATS

/**
 * A NATS with JetStream that runs Rollgate's authorization (deploy/nats/rollgate.conf), as { url, credentials
 * file }. A given NATS_URL is used only together with ROLLGATE_NATS_CREDENTIALS_FILE (the passwords of its
 * users); otherwise the private server on PRIVATE_NATS_PORT, restarted when its configuration or passwords
 * changed. An open NATS is never reused: what runs here must refuse strangers as production does.
 */
async function ensureNats(ctx) {
  const givenUrl = ctx.env.NATS_URL;
  const givenCredentials = ctx.env.ROLLGATE_NATS_CREDENTIALS_FILE;
  if (givenUrl && givenCredentials) {
    readCredentials(givenCredentials);
    const info = await probeNats(givenUrl);
    if (!info?.jetstream) throw new Error(`NATS_URL ${redact(givenUrl)} does not answer with JetStream on`);
    ctx.log(`NATS: using ${redact(givenUrl)} with the users in ${givenCredentials}`);
    return { url: givenUrl, credentialsFile: givenCredentials };
  }
  if (givenUrl) ctx.log(`NATS: ignoring NATS_URL ${redact(givenUrl)} without ROLLGATE_NATS_CREDENTIALS_FILE`);
  const privateUrl = `nats://127.0.0.1:${PRIVATE_NATS_PORT}`;
  if (ctx.dryRun) {
    ctx.log(`dry run: would create ${NATS_CREDENTIALS} (random passwords) unless it exists`);
  }
  const credentials = ctx.dryRun ? generateCredentials() : ensureCredentials(NATS_CREDENTIALS);
  const stamp = createHash('sha256').update(fs.readFileSync(NATS_CONFIG)).update(JSON.stringify(credentials)).digest('hex');
  const pid = readPid(NATS_PID);
  const running = pid !== null && isAlive(pid);
  if (running && readText(NATS_STAMP) === stamp && (await probeNats(privateUrl))?.auth_required) {
    ctx.log(`NATS: reusing the private one at ${privateUrl}`);
    return { url: privateUrl, credentialsFile: NATS_CREDENTIALS };
  }
  if (running && !ctx.dryRun) {
    ctx.log(`NATS: the private server (pid ${pid}) runs another configuration; restarting it`);
    await stopPid(pid);
  }
  if (await probeNats(privateUrl)) {
    throw new Error(`something else listens on ${privateUrl}; stop it or set NATS_URL and ROLLGATE_NATS_CREDENTIALS_FILE`);
  }
  ctx.log(`NATS: starting a private one on port ${PRIVATE_NATS_PORT} with ${path.relative(REPO, NATS_CONFIG)}`);
  let bin = findNatsServer(ctx.env);
  if (!bin) {
    installPackages(ctx);
    bin = ctx.dryRun ? '/usr/sbin/nats-server' : findNatsServer(ctx.env);
    if (!bin) throw new Error('nats-server still not found after installing');
  }
  const cmd = [bin, ...natsServerArgs({ port: PRIVATE_NATS_PORT, storeDir: NATS_DIR }), '-P', NATS_PID, '-l', NATS_LOG];
  if (ctx.dryRun) {
    ctx.log(`dry run: would run detached ${cmd.join(' ')}`);
    return { url: privateUrl, credentialsFile: NATS_CREDENTIALS };
  }
  fs.mkdirSync(NATS_DIR, { recursive: true });
  const child = spawn(cmd[0], cmd.slice(1), { detached: true, stdio: 'ignore', env: { ...process.env, ...credentials } });
  child.unref();
  fs.writeFileSync(NATS_PID, `${child.pid}\n`);
  for (let i = 0; i < 100; i++) {
    if ((await probeNats(privateUrl))?.jetstream) {
      fs.writeFileSync(NATS_STAMP, stamp);
      ctx.log(`NATS: private server started on ${privateUrl} (pid ${child.pid}, log ${NATS_LOG})`);
      return { url: privateUrl, credentialsFile: NATS_CREDENTIALS };
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`the private nats-server did not answer at ${privateUrl}; see ${NATS_LOG}`);
}

async function stopPid(pid) {
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The first nats-server in ROLLGATE_NATS_SEARCH (default: PATH, /usr/sbin, /usr/local/bin), or null. */
function findNatsServer(env) {
  const dirs = (env.ROLLGATE_NATS_SEARCH ?? `${env.PATH ?? ''}:/usr/sbin:/usr/local/bin`).split(':').filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, 'nats-server');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Connects, reads the server's INFO line and returns it parsed; null when nothing usable answers. */
function probeNats(url, timeoutMs = 3000) {
  const u = new URL(url.includes('://') ? url : `nats://${url}`);
  return new Promise((resolve) => {
    let buffer = '';
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 4222) });
    const done = (value) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on('error', () => done(null));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = buffer.slice(0, end);
      if (!line.startsWith('INFO ')) return done(null);
      try {
        done(JSON.parse(line.slice(5)));
      } catch {
        done(null);
      }
    });
  });
}

// ------------------------------------------------------------------- helpers

/**
 * Installs the Debian packages of whichever servers have no binaries, in one apt-get run per process
 * (so a PostgreSQL install does not repeat for NATS).
 */
function installPackages(ctx) {
  if (ctx.installed) return;
  ctx.installed = true;
  const packages = [];
  if (!findPgBin(ctx.env)) packages.push('postgresql');
  if (!findNatsServer(ctx.env)) packages.push('nats-server');
  if (packages.length === 0) return;
  const sudo = isRoot ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = [...sudo, 'apt-get', 'update'];
  const install = [...sudo, 'apt-get', 'install', '-y', '--no-install-recommends', ...packages];
  if (ctx.dryRun) {
    ctx.log(`dry run: would run DEBIAN_FRONTEND=noninteractive ${update.join(' ')}`);
    ctx.log(`dry run: would run DEBIAN_FRONTEND=noninteractive ${install.join(' ')}`);
    return;
  }
  if (!isRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    throw new Error(`${packages.join(', ')} not installed and not root (and no passwordless sudo): install them`);
  }
  ctx.log(`installing the Debian packages ${packages.join(' ')}`);
  run(update, { env });
  run(install, { env });
}

function asPg(cmd) {
  // initdb and postgres refuse root; run them as the postgres OS user (the package creates it).
  return isRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd;
}

function asPgDisplay(cmd) {
  return asPg(cmd)
    .map((a) => (/\s/.test(a) ? `"${a}"` : a))
    .join(' ');
}

function runAsPg(cmd, opts) {
  // The child runs from / so that the postgres user is not left in a directory it cannot read.
  return run(asPg(cmd), { cwd: '/', ...opts });
}

function run(cmd, { allowFail = false, ...opts } = {}) {
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (!allowFail && r.status !== 0) {
    const out = `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}`.trim();
    throw new Error(`command failed (${r.error?.message ?? `exit ${r.status}`}): ${cmd.join(' ')}\n${out}`);
  }
  return r;
}

async function acquireLock(log) {
  const deadline = Date.now() + 10 * 60_000;
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rmSync(LOCK_FILE, { force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    const holder = readPid(LOCK_FILE);
    if (holder !== null && !isAlive(holder)) {
      // The holder died without releasing; take the lock over (rename is atomic, so only one taker wins).
      try {
        fs.renameSync(LOCK_FILE, `${LOCK_FILE}.${process.pid}.stale`);
        fs.rmSync(`${LOCK_FILE}.${process.pid}.stale`, { force: true });
      } catch {
        // someone else took it over first
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_FILE} (held by pid ${holder})`);
    if (!told) log(`waiting for another infra run (pid ${holder ?? '?'})`);
    told = true;
    await sleep(200);
  }
}

function readPid(file) {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------------ CLI

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const main = async () => {
    if (args[0] === 'stop') return stopInfra();
    const dryRun = args.includes('--dry-run') || process.env.ROLLGATE_INFRA_DRY_RUN === '1';
    const result = await ensureInfra({ dryRun });
    for (const [k, v] of Object.entries(result)) process.stdout.write(`${k}=${v}\n`);
  };
  main().catch((err) => {
    process.stderr.write(`[infra] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
