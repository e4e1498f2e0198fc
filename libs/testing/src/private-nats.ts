import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCredentials, natsServerArgs } from '../../../scripts/nats-auth.mjs';
import { freePort, waitFor } from './free-port.js';
import { natsAccess, type NatsAccess } from './nats-access.js';

export const NATS_BINARIES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

/**
 * A nats-server with JetStream that one test file owns, so it can stop and restart it without disturbing
 * others. It runs deploy/nats/rollgate.conf with fresh random passwords: every client logs in as a user.
 */
export interface PrivateNats extends NatsAccess {
  readonly port: number;
  /** Stops the server (SIGTERM, or SIGKILL when `hard`), keeping its JetStream store. */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again on the same port with the same store and passwords. */
  start(): Promise<void>;
  /** Stops it and removes its store. */
  destroy(): Promise<void>;
}

export const acceptsConnections = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString().startsWith('INFO'));
    });
    socket.once('error', () => resolve(false));
  });

export async function startPrivateNats(): Promise<PrivateNats> {
  const binary = NATS_BINARIES.find((candidate) => existsSync(candidate));
  if (!binary) throw new Error('nats-server not found; run npm run infra (it installs the Debian package)');
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'rollgate-e2e-nats-'));
  const credentials = generateCredentials();
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    child = spawn(binary, natsServerArgs({ port, storeDir }), { stdio: 'ignore', env: { ...process.env, ...credentials } });
    await waitFor(`nats-server on ${port}`, () => acceptsConnections(port), { timeoutMs: 15_000 });
  };
  const stop = async (hard = false): Promise<void> => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  return {
    ...natsAccess(`nats://127.0.0.1:${port}`, credentials),
    port,
    start,
    stop,
    destroy: async () => {
      await stop(true);
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
