/** Test-only: a private nats-server with JetStream on a random port, so tests can kill and restart it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NATS_SERVER = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export class PrivateNatsServer {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateNatsServer> {
    const server = new PrivateNatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'rg-sdk-nats-')));
    await server.restart();
    return server;
  }

  /** Starts (again) on the same port and store dir: streams survive a kill. */
  async restart(): Promise<void> {
    if (this.child !== null) throw new Error('already running');
    const child = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir], { stdio: 'ignore' });
    this.child = child;
    for (let i = 0; i < 200; i++) {
      if (await accepts(this.port)) return;
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('nats-server did not start');
  }

  /** SIGKILL, and wait until it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
