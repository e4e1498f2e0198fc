import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import {
  adminDatabaseUrl,
  assertTestDatabaseName,
  databaseUrlFor,
  freePort,
  startPrivateNats,
  waitFor,
  type PrivateNats,
} from '#rollgate/testing';

export type ServiceName = 'flags' | 'rollback' | 'canary' | 'gateway';
// Each owner gets a database of its own (the gateway's holds its API tokens and must never be a service's).
const OWNS_DATABASE: Record<ServiceName, boolean> = { flags: true, rollback: true, canary: true, gateway: true };
const ROOT = resolve(import.meta.dirname, '../../../..');

// Response bodies are untyped JSON that the suites read field by field; `any` keeps them terse.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiResponse<Body = any> {
  status: number;
  body: Body;
  headers: Headers;
}

interface RunningService {
  name: ServiceName;
  port: number;
  env: Record<string, string>;
  child: ChildProcess | null;
  output: string[];
}

export interface SystemOptions {
  services?: ServiceName[];
  /** Extra environment per service (e.g. seeding off). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Share a NATS server between systems; by default each system starts its own. */
  nats?: PrivateNats;
  /**
   * Processes per service (default 1): the extra ones share the service's database and queue group, as replicas
   * do in production. Reach them by index with `replicaUrl`, `killReplica` (index 0 is the one `httpUrl` names).
   */
  replicas?: Partial<Record<ServiceName, number>>;
  /** Boot the services side by side instead of one after the other (for suites that start many processes). */
  parallel?: boolean;
}

const urlFor = databaseUrlFor;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const mainOf = (name: ServiceName): string => resolve(ROOT, `dist/apps/${name}/src/main.js`);

function run(name: ServiceName, args: string[], env: Record<string, string>, output: string[]): ChildProcess {
  const child = spawn(process.execPath, [mainOf(name), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, ROLLGATE_LOG_LEVEL: process.env['ROLLGATE_E2E_LOG_LEVEL'] ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer): void => {
    output.push(chunk.toString());
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/**
 * The built services as real processes, each test file with its own database and its own NATS server, driven
 * the way a user drives them: HTTP, NATS, the SDK.
 */
export class RollgateSystem {
  readonly adminToken = randomBytes(24).toString('hex');
  private readonly services = new Map<ServiceName, RunningService>();
  /** Replicas 1.. of each service (replica 0 is in `services`). */
  private readonly extraReplicas = new Map<ServiceName, RunningService[]>();
  private readonly databases = new Map<ServiceName, string>();
  private ownsNats = false;
  nats!: PrivateNats;

  static async start(options: SystemOptions = {}): Promise<RollgateSystem> {
    const system = new RollgateSystem();
    try {
      await system.boot(options);
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.service('gateway').port}`;
  }

  /** The flags database as the service role sees it (for black-box checks of the log). */
  get appDatabaseUrl(): string {
    return this.databaseUrl('flags');
  }

  /** A service's own database as the service role sees it. */
  databaseUrl(name: ServiceName): string {
    return urlFor('rollgate_app', this.requireDatabase(name));
  }

  httpUrl(name: ServiceName): string {
    return `http://127.0.0.1:${this.service(name).port}`;
  }

  logs(name: ServiceName): string {
    return this.service(name).output.join('');
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async api<Body = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<Body>> {
    const response = await fetch(`${this.gatewayUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as Body, headers: response.headers };
  }

  /** A query against the flags database (or `service`'s) as the service role (black-box checks of es.events, es.commands). */
  async sql<Row extends Record<string, unknown> = Record<string, unknown>>(text: string, params: unknown[] = [], service: ServiceName = 'flags'): Promise<Row[]> {
    const client = new pg.Client({ connectionString: this.databaseUrl(service) });
    await client.connect();
    try {
      return (await client.query<Row>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Runs a one-off subcommand of a service (`migrate`, `rebuild`) with the service's environment; throws on a non-zero exit. */
  async runTask(name: ServiceName, args: string[]): Promise<string> {
    const service = this.service(name);
    const output: string[] = [];
    const child = run(name, args, service.env, output);
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    service.output.push(...output);
    if (code !== 0) throw new Error(`${name} ${args.join(' ')} exited with ${code}:\n${output.join('')}`);
    return output.join('');
  }

  /** Every replica of a service, index 0 first. */
  private replicasOf(name: ServiceName): RunningService[] {
    return [this.service(name), ...(this.extraReplicas.get(name) ?? [])];
  }

  replicaCount(name: ServiceName): number {
    return this.replicasOf(name).length;
  }

  replicaUrl(name: ServiceName, index: number): string {
    return `http://127.0.0.1:${this.replica(name, index).port}`;
  }

  /** Whether a replica's process runs (false after `killReplica`). */
  replicaRunning(name: ServiceName, index: number): boolean {
    const child = this.replica(name, index).child;
    return child !== null && child.exitCode === null;
  }

  /** kill -9 of one replica, as a crash of its pod would be. */
  async killReplica(name: ServiceName, index: number): Promise<void> {
    const service = this.replica(name, index);
    const child = service.child;
    service.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM to one replica, as Kubernetes stops a pod; resolves with its exit code once it exited. */
  async stopReplica(name: ServiceName, index: number): Promise<number | null> {
    const service = this.replica(name, index);
    const child = service.child;
    service.child = null;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.kill('SIGTERM');
    return exited;
  }

  private replica(name: ServiceName, index: number): RunningService {
    const replica = this.replicasOf(name)[index];
    if (!replica) throw new Error(`${name} has no replica ${index}`);
    return replica;
  }

  /** kill -9, as a crash would. */
  async kill(name: ServiceName): Promise<void> {
    const service = this.service(name);
    const child = service.child;
    service.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(name: ServiceName): Promise<void> {
    await this.kill(name);
    await this.launch(this.service(name));
  }

  async stop(): Promise<void> {
    for (const service of [...[...this.extraReplicas.values()].flat(), ...this.services.values()]) {
      const child = service.child;
      service.child = null;
      if (child && child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    }
    if (this.ownsNats) await this.nats?.destroy();
    for (const [name, database] of this.databases) {
      assertTestDatabaseName(database);
      await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      this.databases.delete(name);
    }
  }

  private async boot(options: SystemOptions): Promise<void> {
    const names = options.services ?? ['flags', 'gateway'];
    for (const name of names) {
      if (!existsSync(mainOf(name))) throw new Error(`${mainOf(name)} is missing: run npm run build first`);
    }
    if (options.nats) this.nats = options.nats;
    else {
      this.nats = await startPrivateNats();
      this.ownsNats = true;
    }
    const system = randomBytes(5).toString('hex');
    for (const name of names.filter((owner) => OWNS_DATABASE[owner])) {
      const database = `rollgate_test_e2e_${system}_${name}`;
      assertTestDatabaseName(database);
      await admin(`CREATE DATABASE ${database} OWNER rollgate_owner`);
      this.databases.set(name, database);
    }
    const launching: Promise<void>[] = [];
    for (const name of names) {
      const port = await freePort();
      const env: Record<string, string> = {
        // Each service logs in as its own NATS user (deploy/nats/rollgate.conf).
        ...this.nats.env(name),
        ROLLGATE_HTTP_PORT: String(port),
        ROLLGATE_HTTP_HOST: '127.0.0.1',
        ROLLGATE_ADMIN_TOKEN: this.adminToken,
        ...(OWNS_DATABASE[name]
          ? {
              DATABASE_URL: urlFor('rollgate_app', this.requireDatabase(name)),
              ROLLGATE_MIGRATION_DATABASE_URL: urlFor('rollgate_owner', this.requireDatabase(name)),
            }
          : {}),
        ...(options.env?.[name] ?? {}),
      };
      const service: RunningService = { name, port, env, child: null, output: [] };
      this.services.set(name, service);
      const primaryReady = (async () => {
        if (OWNS_DATABASE[name]) await this.migrate(service);
        await this.launch(service);
      })();
      if (options.parallel) {
        primaryReady.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
        launching.push(primaryReady);
      } else await primaryReady;
      const extra: RunningService[] = [];
      for (let i = 1; i < (options.replicas?.[name] ?? 1); i++) {
        const replicaPort = await freePort();
        const replica: RunningService = { name, port: replicaPort, env: { ...env, ROLLGATE_HTTP_PORT: String(replicaPort) }, child: null, output: [] };
        extra.push(replica);
        // Replicas start (after their service's migrations) while the next service boots.
        const launched = primaryReady.then(() => this.launch(replica));
        launched.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
        launching.push(launched);
      }
      if (extra.length > 0) this.extraReplicas.set(name, extra);
    }
    await Promise.all(launching);
  }

  private async migrate(service: RunningService): Promise<void> {
    const child = run(service.name, ['migrate'], service.env, service.output);
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    if (code !== 0) throw new Error(`${service.name} migrate exited with ${code}:\n${service.output.join('')}`);
  }

  private async launch(service: RunningService): Promise<void> {
    service.child = run(service.name, [], service.env, service.output);
    const child = service.child;
    await waitFor(
      `${service.name} /health/ready`,
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`${service.name} exited with ${child.exitCode}:\n${service.output.join('')}`);
        }
        const response = await fetch(`http://127.0.0.1:${service.port}/health/ready`);
        return response.status === 200;
      },
      { timeoutMs: 30_000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- ${service.name} output ---\n${service.output.join('')}`);
    });
  }

  private service(name: ServiceName): RunningService {
    const service = this.services.get(name);
    if (!service) throw new Error(`${name} is not part of this system`);
    return service;
  }

  private requireDatabase(name: ServiceName): string {
    const database = this.databases.get(name);
    if (!database) throw new Error(`${name} has no database in this system`);
    return database;
  }
}
