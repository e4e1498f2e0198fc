import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { generateCredentials, natsServerArgs } from '../../../scripts/nats-auth.mjs';
import { freePort, waitFor } from './free-port.js';
import { natsAccess } from './nats-access.js';
import { acceptsConnections, NATS_BINARIES, type PrivateNats } from './private-nats.js';

/** One server of a NatsCluster: its JetStream `server_name`, client port, and its own store. */
export interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly running: boolean;
  /** Stops the server (SIGTERM, or SIGKILL when `hard`), keeping its store. */
  stop(hard?: boolean): Promise<void>;
  start(): Promise<void>;
}

/**
 * Three (or `size`) nats-servers on loopback in one cluster, with JetStream, all on deploy/nats/rollgate.conf with
 * the same fresh passwords, so that streams with 3 replicas can be created and a node killed under them. The
 * URL lists every node: clients reconnect to the survivors. As a PrivateNats, stop/start act on every node.
 */
export interface NatsCluster extends PrivateNats {
  readonly nodes: readonly NatsNode[];
  /** The `server_name` of the node leading `stream`'s RAFT group (asks as admin), undefined while none leads. */
  streamLeader(stream: string): Promise<string | undefined>;
  node(name: string): NatsNode;
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const binary = NATS_BINARIES.find((candidate) => existsSync(candidate));
  if (!binary) throw new Error('nats-server not found; run npm run infra (it installs the Debian package)');
  const credentials = generateCredentials();
  const clusterName = `rg-test-${randomBytes(3).toString('hex')}`;
  const specs: { name: string; port: number; clusterPort: number; storeDir: string }[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `n${i}`, port: await freePort(), clusterPort: await freePort(), storeDir: mkdtempSync(join(tmpdir(), `rollgate-e2e-nats-n${i}-`)) });
  }
  const routes = specs.map((s) => `nats://127.0.0.1:${s.clusterPort}`).join(',');
  const nodes: NatsNode[] = specs.map((spec) => {
    let child: ChildProcess | null = null;
    const node: NatsNode = {
      name: spec.name,
      port: spec.port,
      get running() {
        return child !== null && child.exitCode === null;
      },
      async start() {
        const args = [
          ...natsServerArgs({ port: spec.port, storeDir: spec.storeDir }),
          '--server_name', spec.name,
          '--cluster_name', clusterName,
          '--cluster', `nats://127.0.0.1:${spec.clusterPort}`,
          '--routes', routes,
        ];
        child = spawn(binary, args, { stdio: 'ignore', env: { ...process.env, ...credentials } });
        await waitFor(`nats-server ${spec.name} on ${spec.port}`, () => acceptsConnections(spec.port), { timeoutMs: 15_000 });
      },
      async stop(hard = false) {
        const running = child;
        child = null;
        if (!running || running.exitCode !== null) return;
        const exited = new Promise((resolve) => running.once('exit', resolve));
        running.kill(hard ? 'SIGKILL' : 'SIGTERM');
        await exited;
      },
    };
    return node;
  });
  const url = specs.map((s) => `nats://127.0.0.1:${s.port}`).join(',');
  const access = natsAccess(url, credentials);

  /** Runs `fn` with a JetStream manager as admin on any running node. */
  const asAdmin = async <T>(fn: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>): Promise<T> => {
    const nc = await connect({ ...access.options('admin'), servers: url.split(','), name: 'cluster-probe', timeout: 2_000 });
    try {
      return await fn(await jetstreamManager(nc, { timeout: 2_000 }));
    } finally {
      await nc.close();
    }
  };
  const startAll = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.start()));
    // JetStream answers once the meta group has a leader.
    await waitFor('the JetStream meta leader', () => asAdmin(async (jsm) => (await jsm.getAccountInfo()) !== undefined), { timeoutMs: 30_000, intervalMs: 250 });
  };
  const stopAll = async (hard = false): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop(hard)));
  };
  try {
    await startAll();
  } catch (error) {
    await stopAll(true);
    throw error;
  }
  return {
    ...access,
    port: specs[0]!.port,
    nodes,
    node: (name) => {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no NATS node ${name}`);
      return found;
    },
    streamLeader: (stream) => asAdmin(async (jsm) => (await jsm.streams.info(stream)).cluster?.leader || undefined),
    start: startAll,
    stop: stopAll,
    destroy: async () => {
      await stopAll(true);
      for (const spec of specs) rmSync(spec.storeDir, { recursive: true, force: true });
    },
  };
}
