/**
 * Rollback figures (issue 9): (1) emergency rollback from the HTTP request at the gateway until the flag is off in
 * every one of 100 RollgateClients (their `change` events), over repeated rounds; (2) restore of an environment of
 * 1 000 flags to a point in time, request to finished. The built flags, rollback and gateway services run as
 * processes (bench/service-launcher.ts) on a private nats-server. Run: npm run bench:rollback.
 */
import { RollgateClient } from '#rollgate/sdk';
import { startSystem } from './service-launcher.js';

const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 100);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 30);
const BULK = Number(process.env['BENCH_BULK_FLAGS'] ?? 1_000);
const KEY = 'bench_emergency';
/** How often the bench polls an execution's status until it finished (each poll carries the whole execution). */
const POLL_MS = Number(process.env['BENCH_POLL_MS'] ?? 20);

const percentile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const round1 = (n: number): number => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const system = await startSystem(
    {
      flags: { ROLLGATE_FLAGS_SEED: 'false' },
      rollback: { ROLLGATE_ROLLBACK_SEED: 'false', ROLLGATE_ROLLBACK_SDK_STATUS_INTERVAL_MS: '200', ROLLGATE_ROLLBACK_CONSISTENCY_WAIT_MS: '2000' },
    },
    { rollback: true },
  );
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${system.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${system.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
  const finished = async (id: string, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/api/v1/rollbacks/${id}/status`);
      if (['succeeded', 'failed', 'cancelled', 'preempted'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`rollback ${id} did not finish: ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  try {
    const created = await api('POST', '/api/v1/feature-flags', { flag: { key: KEY, name: KEY, type: 'boolean', environments: { production: { enabled: true, default_rollout: { type: 'all_users' } } } } });
    if (created.status !== 201) throw new Error(`create: ${JSON.stringify(created.body)}`);
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        RollgateClient.connect({ environment: 'production', servers: system.natsUrl, credentials: system.natsCredentials('sdk'), clientId: `bench-${i}`, outcomes: { enabled: false }, trackExposures: false, statusIntervalMs: 100, readyTimeoutMs: 60_000 }),
      ),
    );
    const enabled = (client: RollgateClient): boolean => client.isEnabled(KEY, { userId: 'u1' });
    const allTo = (value: boolean): Promise<number[]> =>
      Promise.all(
        clients.map(
          (client) =>
            new Promise<number>((resolve) => {
              if (enabled(client) === value) return resolve(performance.now());
              const off = client.onFlagChange(KEY, () => {
                if (enabled(client) === value) {
                  off();
                  resolve(performance.now());
                }
              });
            }),
        ),
      );
    const lastOff: number[] = [];
    const perClient: number[] = [];
    const replies: number[] = [];
    const recovery: number[] = [];
    // Where the time goes, per round (wall clock, ms after the request was sent): the execution requested (its
    // first append), and the flag step's result recorded (the toggle's reply, which waits for the flags feed).
    const requestedAt: number[] = [];
    const toggleReplied: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const on = allTo(true);
      if (round > 0) await api('PUT', `/api/v1/feature-flags/${KEY}/environments/production`, { enabled: true });
      await on;
      const off = allTo(false);
      const sent = performance.now();
      const sentWall = Date.now();
      const reply = await api('POST', '/api/v1/rollbacks/emergency', { scope: 'feature_flag', target_id: KEY, reason: `bench round ${round}` });
      replies.push(performance.now() - sent);
      if (reply.status !== 202) throw new Error(`emergency: ${JSON.stringify(reply.body)}`);
      const times = await off;
      lastOff.push(Math.max(...times) - sent);
      perClient.push(...times.map((t) => t - sent));
      const done = await finished(reply.body.execution_id);
      if (done.status !== 'succeeded') throw new Error(`round ${round}: ${JSON.stringify(done)}`);
      if (typeof done.recovery_ms === 'number') recovery.push(done.recovery_ms);
      requestedAt.push(Date.parse(done.requested_at) - sentWall);
      toggleReplied.push(Date.parse(done.steps[0].finished_at) - sentWall);
    }
    await Promise.all(clients.map((client) => client.close()));
    const sorted = [...lastOff].sort((a, b) => a - b);
    const sortedClients = [...perClient].sort((a, b) => a - b);
    const sortedReplies = [...replies].sort((a, b) => a - b);
    const emergency = {
      clients: CLIENTS,
      rounds: ROUNDS,
      allOffMs: { p50: round1(percentile(sorted, 0.5)), p99: round1(percentile(sorted, 0.99)), max: round1(sorted.at(-1)!) },
      perClientMs: { p50: round1(percentile(sortedClients, 0.5)), p99: round1(percentile(sortedClients, 0.99)), max: round1(sortedClients.at(-1)!) },
      httpReplyMs: { p50: round1(percentile(sortedReplies, 0.5)), p99: round1(percentile(sortedReplies, 0.99)) },
      profileMs: {
        requested: { p50: percentile([...requestedAt].sort((a, b) => a - b), 0.5), max: Math.max(...requestedAt) },
        flagStepDone: { p50: percentile([...toggleReplied].sort((a, b) => a - b), 0.5), max: Math.max(...toggleReplied) },
      },
      recoveryMsAsRecorded: { p50: percentile([...recovery].sort((a, b) => a - b), 0.5), max: Math.max(...recovery) },
    };
    console.log(JSON.stringify({ emergency }));

    // Restore of an environment of BULK flags.
    const keys = Array.from({ length: BULK }, (_, i) => `bulk_${i}`);
    const limit = 16;
    const runAll = async (fn: (key: string, i: number) => Promise<void>) => {
      let next = 0;
      await Promise.all(Array.from({ length: limit }, async () => {
        while (next < keys.length) {
          const i = next++;
          await fn(keys[i]!, i);
        }
      }));
    };
    await runAll(async (key) => {
      const r = await api('POST', '/api/v1/feature-flags', { flag: { key, name: key, type: 'boolean', environments: { qa: { enabled: true, default_rollout: { type: 'percentage', ppm: 300_000 } } } } });
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    });
    const asOf = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await runAll(async (key, i) => {
      await api('PUT', `/api/v1/feature-flags/${key}/environments/qa/rollout`, { rollout_strategy: 'percentage', rollout_percentage: 90 });
      if (i % 2 === 0) await api('PUT', `/api/v1/feature-flags/${key}/environments/qa`, { enabled: false });
    });
    const started = performance.now();
    const restore = await api('POST', '/api/v1/rollbacks/emergency', { scope: 'environment', target_id: 'qa', as_of: asOf, reason: 'bench restore' });
    const done = await finished(restore.body.execution_id);
    const total = performance.now() - started;
    const step = done.steps[0];
    console.log(
      JSON.stringify({
        restoreEnvironment: {
          flags: BULK,
          status: done.status,
          consistency: done.consistency?.verified,
          totalMs: Math.round(total),
          planningMs: Date.parse(step.started_at) - Date.parse(done.started_at),
          commandsMs: step.duration_ms,
          untilStepDoneMs: Date.parse(step.finished_at) - Date.parse(done.requested_at),
          // The consistency check (every flag listed and compared, SDK positions) and the execution's last appends.
          afterStepMs: Date.parse(done.finished_at) - Date.parse(step.finished_at),
          // What each status poll (every 20 ms) carries: the execution with every operation and result.
          statusBytes: JSON.stringify(done).length,
        },
      }),
    );
  } finally {
    await system.stop();
  }
}

await main();
