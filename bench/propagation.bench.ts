/**
 * Propagation: a flag change's HTTP reply at the gateway → the `change` event in each of 100 RollgateClients.
 * The built flags service and gateway run as processes (bench/service-launcher.ts) on a private nats-server; the
 * clients live in 4 child processes of 25 (one event loop would queue 100 clients' work behind each other), each
 * timestamping its change events with performance.timeOrigin + performance.now() (the parent stamps the HTTP reply
 * the same way: one machine clock) and reporting them to the parent over IPC.
 * Scenarios: 200 sequential rollout changes, 200 changes from 4 concurrent writers (each on its own flags), and
 * 50 "emergency off" toggles (each measured toggle to disabled follows an unmeasured re-enable).
 * Run: npm run bench:propagation (build + with-infra). Env: BENCH_CLIENTS (100), BENCH_CHILDREN (4), BENCH_CHANGES (200).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RollgateClient } from '#rollgate/sdk';
import { startSystem, type RunningSystem } from './service-launcher.js';

const ENV = 'production';
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 100);
const CHILDREN = Number(process.env['BENCH_CHILDREN'] ?? 4);
const CHANGES = Number(process.env['BENCH_CHANGES'] ?? 200);
const EMERGENCY = 50;
const WRITERS = 4;
const FLAGS = 8;
const KILL_FLAG = 'bench-kill';

const now = (): number => performance.timeOrigin + performance.now();

/** change events: [clientIndex, key, newVersion, time] */
type Observation = [number, string, number, number];
type ChildMessage = { type: 'ready' } | { type: 'events'; events: Observation[] } | { type: 'closed' };
type ParentMessage = { type: 'close' };

// ---- child: 25 clients, change events to the parent ------------------------------------------------------

async function child(natsUrl: string, first: number, count: number): Promise<void> {
  let pending: Observation[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    process.send!({ type: 'events', events: pending } satisfies ChildMessage);
    pending = [];
  };
  const clients = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      RollgateClient.connect({
        environment: ENV,
        servers: natsUrl,
        credentials: { user: 'sdk', password: process.env['RG_BENCH_SDK_PASSWORD']! },
        clientId: `bench-${first + i}`,
        outcomes: { enabled: false },
        trackExposures: false,
        statusIntervalMs: 1_000,
        readyTimeoutMs: 60_000,
      }).then((client) => {
        client.on('change', (change) => {
          // Stamp first; the IPC send waits for the end of this tick so it does not delay the other clients.
          const t = now();
          if (change.newVersion === undefined) return;
          pending.push([first + i, change.key, change.newVersion, t]);
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        });
        return client;
      }),
    ),
  );
  process.send!({ type: 'ready' } satisfies ChildMessage);
  process.on('message', (message: ParentMessage) => {
    if (message.type !== 'close') return;
    flush();
    void Promise.all(clients.map((c) => c.close())).then(() => {
      process.send!({ type: 'closed' } satisfies ChildMessage, () => process.exit(0));
    });
  });
}

// ---- parent ----------------------------------------------------------------------------------------------

interface Change {
  key: string;
  version: number;
  sentAt: number;
  repliedAt: number;
}

class Api {
  constructor(private readonly system: RunningSystem) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<{ body: T; at: number; sentAt: number }> {
    const sentAt = now();
    const response = await fetch(`${this.system.gatewayUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.system.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const parsed = (await response.json()) as T;
    const at = now();
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
    return { body: parsed, at, sentAt };
  }

  async rollout(key: string, percentage: number): Promise<Change> {
    const { body, at, sentAt } = await this.call<{ version: number }>('PUT', `/feature-flags/${key}/environments/${ENV}/rollout`, { rollout_percentage: percentage });
    return { key, version: body.version, sentAt, repliedAt: at };
  }

  async toggle(key: string, enabled: boolean): Promise<Change> {
    const { body, at, sentAt } = await this.call<{ version: number }>('PUT', `/feature-flags/${key}/environments/${ENV}`, { enabled });
    return { key, version: body.version, sentAt, repliedAt: at };
  }
}

const flagKey = (i: number): string => `bench-flag-${i}`;
/** 1..99: never the created 100 %, and different for any two changes of one flag (8 or 2 apart), so none is a no-op. */
const percentageOf = (i: number): number => ((i * 7) % 99) + 1;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Row {
  scenario: string;
  changes: number;
  samples: number;
  missed: number;
  /** From the HTTP reply (the target's measure), ms. */
  p50: number;
  p99: number;
  max: number;
  min: number;
  /** From the moment the request was sent (includes the command itself), ms. */
  sentP50: number;
  sentP99: number;
  sentMax: number;
  /** The HTTP round trip of the command itself, p50 ms. */
  replyP50: number;
}

async function parent(): Promise<void> {
  const system = await startSystem();
  const api = new Api(system);
  const children: ChildProcess[] = [];
  const seen = new Map<string, number[]>(); // `${key}@${version}` → per-client time (NaN until seen)
  const observe = ([client, key, version, t]: Observation): void => {
    const id = `${key}@${version}`;
    let times = seen.get(id);
    if (times === undefined) seen.set(id, (times = new Array<number>(CLIENTS).fill(Number.NaN)));
    if (Number.isNaN(times[client]!)) times[client] = t;
  };
  try {
    for (let i = 0; i < FLAGS; i++) {
      await api.call('POST', '/feature-flags', { name: flagKey(i), flag_type: 'percentage', rollout_percentage: 100, target_environments: [ENV] });
    }
    await api.call('POST', '/feature-flags', { name: KILL_FLAG, flag_type: 'boolean', target_environments: [ENV] });

    const perChild = Math.ceil(CLIENTS / CHILDREN);
    await Promise.all(
      Array.from({ length: CHILDREN }, (_, c) => {
        const first = c * perChild;
        const count = Math.min(perChild, CLIENTS - first);
        const proc = fork(fileURLToPath(import.meta.url), ['child', system.natsUrl, String(first), String(count)], {
          stdio: 'inherit',
          env: { ...process.env, RG_BENCH_SDK_PASSWORD: system.natsCredentials('sdk').password },
        });
        children.push(proc);
        return new Promise<void>((ready, fail) => {
          proc.on('message', (message: ChildMessage) => {
            if (message.type === 'ready') ready();
            else if (message.type === 'events') for (const event of message.events) observe(event);
          });
          proc.once('exit', (code) => fail(new Error(`client process ${c} exited with ${code}`)));
        });
      }),
    );
    process.stderr.write(`${CLIENTS} clients ready in ${CHILDREN} processes\n`);

    const settle = async (changes: Change[]): Promise<void> => {
      const deadline = Date.now() + 15_000;
      const complete = () => changes.every((c) => (seen.get(`${c.key}@${c.version}`) ?? [Number.NaN]).every((t) => !Number.isNaN(t)));
      while (!complete() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    const rowOf = (scenario: string, changes: Change[]): Row => {
      const lags: number[] = [];
      const fromSent: number[] = [];
      let missed = 0;
      for (const change of changes) {
        const times = seen.get(`${change.key}@${change.version}`) ?? new Array<number>(CLIENTS).fill(Number.NaN);
        for (const t of times) {
          if (Number.isNaN(t)) missed++;
          else {
            lags.push(t - change.repliedAt);
            fromSent.push(t - change.sentAt);
          }
        }
      }
      const byValue = (a: number, b: number) => a - b;
      lags.sort(byValue);
      fromSent.sort(byValue);
      const replies = changes.map((c) => c.repliedAt - c.sentAt).sort(byValue);
      return {
        scenario,
        changes: changes.length,
        samples: lags.length,
        missed,
        p50: percentile(lags, 0.5),
        p99: percentile(lags, 0.99),
        max: lags[lags.length - 1] ?? Number.NaN,
        min: lags[0] ?? Number.NaN,
        sentP50: percentile(fromSent, 0.5),
        sentP99: percentile(fromSent, 0.99),
        sentMax: fromSent[fromSent.length - 1] ?? Number.NaN,
        replyP50: percentile(replies, 0.5),
      };
    };

    const rows: Row[] = [];
    // 1. Sequential: one writer, each request after the previous reply.
    const sequential: Change[] = [];
    for (let i = 0; i < CHANGES; i++) sequential.push(await api.rollout(flagKey(i % FLAGS), percentageOf(i)));
    await settle(sequential);
    rows.push(rowOf(`${CHANGES} rollout changes, 1 writer`, sequential));

    // 2. Four concurrent writers, each on its own two flags (no version conflicts).
    const concurrent: Change[] = [];
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < CHANGES / WRITERS; i++) concurrent.push(await api.rollout(flagKey(2 * w + (i % 2)), percentageOf(i + 3)));
      }),
    );
    await settle(concurrent);
    rows.push(rowOf(`${CHANGES} rollout changes, ${WRITERS} concurrent writers`, concurrent));

    // 3. Emergency off: a toggle to disabled (measured) after each unmeasured re-enable.
    const kills: Change[] = [];
    for (let i = 0; i < EMERGENCY; i++) {
      const enabled = await api.toggle(KILL_FLAG, true);
      await settle([enabled]);
      kills.push(await api.toggle(KILL_FLAG, false));
    }
    await settle(kills);
    rows.push(rowOf(`${EMERGENCY} emergency off (toggle to disabled)`, kills));

    const ms = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(1));
    const table = [
      `| scenario (${CLIENTS} clients, ${CHILDREN} processes) | changes × clients | missed | reply→event p50 / p99 / max (min) ms | request→event p50 / p99 / max ms | HTTP round trip p50 ms |`,
      '|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.scenario} | ${r.changes} × ${CLIENTS} | ${r.missed} | ${ms(r.p50)} / **${ms(r.p99)}** / ${ms(r.max)} (${ms(r.min)}) | ${ms(r.sentP50)} / ${ms(r.sentP99)} / ${ms(r.sentMax)} | ${ms(r.replyP50)} |`,
      ),
    ].join('\n');
    console.log(table);
    const lag = (await (await fetch(`${system.flagsUrl}/metrics`)).text())
      .split('\n')
      .filter((line) => line.startsWith('rollgate_flags_propagation_lag_seconds_count') || line.startsWith('rollgate_flags_sdk_clients_connected{'));
    console.log(`\nflags service /metrics after the run:\n${lag.join('\n')}`);
  } finally {
    await Promise.all(
      children.map(
        (proc) =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null) return done();
            proc.removeAllListeners('exit');
            proc.once('exit', () => done());
            proc.send({ type: 'close' } satisfies ParentMessage);
            setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    await system.stop();
  }
}

if (process.argv[2] === 'child') {
  await child(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
} else {
  await parent();
}
