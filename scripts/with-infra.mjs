#!/usr/bin/env node
// node scripts/with-infra.mjs <cmd...>: ensures PostgreSQL and NATS (scripts/infra.mjs), then runs <cmd> with
// ROLLGATE_ADMIN_DATABASE_URL, ROLLGATE_PG_HOST, ROLLGATE_PG_PORT and NATS_URL set. Inherits stdio, forwards
// SIGINT/SIGTERM/SIGHUP to the command, and exits with its exit code (or dies by its signal).
import { spawn } from 'node:child_process';
import { ensureInfra } from './infra.mjs';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  process.stderr.write('usage: node scripts/with-infra.mjs <command> [args...]\n');
  process.exit(2);
}

let infra;
try {
  infra = await ensureInfra();
} catch (err) {
  process.stderr.write(`[infra] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...infra } });
const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);

child.on('error', (err) => {
  process.stderr.write(`[with-infra] cannot run ${cmd}: ${err.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  if (signal) {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(s);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
