// Rollgate's NATS users and their passwords. deploy/nats/rollgate.conf is the one source of the users: each
// `$RG_NATS_<USER>_PASSWORD` it references is a user. Passwords live in a credentials file of KEY=value
// lines (mode 0600), generated once with random values; nats-server reads them from its environment.
//
// Plain Node ESM (Node 20 and 24), no dependencies: infra.mjs, start.mjs and the TypeScript test harness use it.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATS_CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../deploy/nats/rollgate.conf');
const PASSWORD_VAR = /\$RG_NATS_([A-Z0-9]+)_PASSWORD\b/g;

/** `RG_NATS_FLAGS_PASSWORD` for `flags`. */
export const passwordVariable = (user) => `RG_NATS_${user.toUpperCase()}_PASSWORD`;

/** The users the configuration defines, in file order (lower case: `admin`, `flags`, ...). */
export function natsUsers(configPath = NATS_CONFIG) {
  const text = fs.readFileSync(configPath, 'utf8');
  const users = [...text.matchAll(PASSWORD_VAR)].map((m) => m[1].toLowerCase());
  return [...new Set(users)];
}

// nats-server parses an environment variable's value as configuration, so `9e8abc` is a number (and a parse
// error), not a string: a password is a letter followed by letters and digits.
const SAFE_PASSWORD = /^[A-Za-z][A-Za-z0-9]{15,}$/;

/** Random passwords for every user: `{ RG_NATS_ADMIN_PASSWORD: 'p…', … }` (192 bits each). */
export function generateCredentials(users = natsUsers()) {
  return Object.fromEntries(users.map((user) => [passwordVariable(user), `p${randomBytes(24).toString('hex')}`]));
}

/** Reads a credentials file; throws naming the users it lacks. */
export function readCredentials(file, users = natsUsers()) {
  const values = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) values[m[1]] = m[2];
  }
  const missing = users.filter((user) => !values[passwordVariable(user)]);
  if (missing.length > 0) throw new Error(`${file} has no password for NATS user(s) ${missing.join(', ')}`);
  const unsafe = users.filter((user) => !SAFE_PASSWORD.test(values[passwordVariable(user)]));
  if (unsafe.length > 0) {
    throw new Error(`${file}: the NATS password of ${unsafe.join(', ')} must be a letter then 15 or more letters or digits`);
  }
  return values;
}

/** The credentials in `file`, creating it with fresh random passwords when it does not exist. */
export function ensureCredentials(file, users = natsUsers()) {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const body = Object.entries(generateCredentials(users)).map(([k, v]) => `${k}=${v}\n`).join('');
    fs.writeFileSync(file, body, { mode: 0o600 });
  }
  return readCredentials(file, users);
}

/** What a process logs in as: `{ NATS_USER, NATS_PASSWORD }` for `user`. */
export function natsLogin(credentials, user) {
  const password = credentials[passwordVariable(user)];
  if (!password) throw new Error(`no NATS password for user ${user}`);
  return { NATS_USER: user, NATS_PASSWORD: password };
}

/** The nats-server arguments that load the configuration, on `port` with JetStream stored in `storeDir`. */
export function natsServerArgs({ port, storeDir, configPath = NATS_CONFIG, host = '127.0.0.1' }) {
  return ['-c', configPath, '-a', host, '-p', String(port), '-js', '-sd', storeDir];
}
