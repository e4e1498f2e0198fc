/**
 * Issue 10's "decision → flag restored in all SDKs p99 ≤ 5 s", measured end to end on the built flags, rollback,
 * canary and gateway services (bench/service-launcher.ts): per round, BENCH_CANARIES failing percentage canaries
 * (20 % of users, half of their requests failing against 2 % in the baseline) on as many flags, judged from the
 * outcomes of BENCH_TRAFFIC_CLIENTS SDK clients serving them through withFeature; BENCH_CLIENTS other SDK clients
 * only watch the flags. For each decision (`CanaryRegressionDetected`, its recorded time in the canary's log) the
 * time until every watching client applied the restored flag version (its `change` event), through the whole
 * path: the rollback service's trigger and execution, its end_canary step, the canary's restore, the flags feed.
 * Run: npm run bench:canary-restore. Env: BENCH_CANARIES (20), BENCH_CLIENTS (100), BENCH_ROUNDS (10),
 * BENCH_TRAFFIC_CLIENTS (2).
 */
import { RollgateClient } from '#rollgate/sdk';
import { startSystem } from './service-launcher.js';

const CANARIES = Number(process.env['BENCH_CANARIES'] ?? 20);
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 100);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 10);
const TRAFFIC_CLIENTS = Number(process.env['BENCH_TRAFFIC_CLIENTS'] ?? 2);
const API = '/api/v1';

const percentile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
};
const summary = (values: readonly number[]) => ({
  n: values.length,
  p50: Math.round(percentile(values, 0.5)),
  p99: Math.round(percentile(values, 0.99)),
  max: Math.round(Math.max(...values)),
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface HistoryEntry {
  type: string;
  recorded_at: string;
  data: Record<string, unknown>;
}

async function main(): Promise<void> {
  const system = await startSystem(
    {
      flags: { ROLLGATE_FLAGS_SEED: 'false' },
      rollback: { ROLLGATE_ROLLBACK_SEED: 'false' },
    },
    { rollback: true, canary: true },
  );
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${system.gatewayUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${system.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
  const connect = (name: string, outcomes: boolean) =>
    RollgateClient.connect({
      environment: 'production',
      servers: system.natsUrl,
      credentials: system.natsCredentials('sdk'),
      clientId: name,
      // The judged clients report 1 s windows so that each round decides within seconds; the watchers report nothing.
      outcomes: outcomes ? { enabled: true, windowMs: 1_000 } : { enabled: false },
      trackExposures: outcomes,
      statusIntervalMs: 0,
      readyTimeoutMs: 60_000,
    });
  try {
    const watchers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => connect(`watch-${i}`, false)));
    const servers = await Promise.all(Array.from({ length: TRAFFIC_CLIENTS }, (_, i) => connect(`serve-${i}`, true)));
    const allSdkMs: number[] = [];
    const perClientMs: number[] = [];
    const toRestoreRecordedMs: number[] = [];
    // Where the time goes, from the decision: the rollback service's answer recorded, its end_canary step received.
    const toTriggerRecordedMs: number[] = [];
    const toEndRequestedMs: number[] = [];
    // Negative when every SDK had the restore before the canary recorded it (it records after the flags reply).
    const restoreToAllSdkMs: number[] = [];
    const paths = { rollbackService: 0, canaryItself: 0 };

    for (let round = 0; round < ROUNDS; round++) {
      const keys = Array.from({ length: CANARIES }, (_, i) => `bench_restore_r${round}_${i}`);
      // When each watcher applied each version of each flag (wall clock, as the log's recorded times are).
      const applied = new Map<string, Array<Map<number, number>>>();
      for (const key of keys) {
        const created = await api('POST', `${API}/feature-flags`, {
          name: key,
          rollout_percentage: 5,
          target_environments: ['production'],
        });
        if (created.status !== 201) throw new Error(`create ${key}: ${JSON.stringify(created.body)}`);
        applied.set(
          key,
          watchers.map((client) => {
            const versions = new Map<number, number>();
            client.onFlagChange(key, (change) => {
              if (change.newVersion !== undefined && !versions.has(change.newVersion))
                versions.set(change.newVersion, Date.now());
            });
            return versions;
          }),
        );
      }
      await until(
        'every client to know the flags',
        async () => ([...watchers, ...servers].every((c) => keys.every((k) => c.getFlag(k))) ? true : undefined),
        60_000,
      );
      const ids = await Promise.all(
        keys.map(async (key) => {
          const started = await api('POST', `${API}/canary-deployments`, {
            feature_flag_id: key,
            name: `restore bench ${key}`,
            strategy: 'percentage',
            target_percentage: 20,
            monitoring_duration_hours: 1,
            start: true,
          });
          if (started.status !== 201) throw new Error(`canary ${key}: ${JSON.stringify(started.body)}`);
          return String(started.body.id);
        }),
      );

      let serving = true;
      let user = 0;
      const traffic = servers.map(async (client) => {
        while (serving) {
          for (const key of keys) {
            for (let i = 0; i < 10; i++) {
              const userId = `u${user++ % 50_000}`;
              const fails = (rate: number, branch: string) => () => {
                if (Math.random() < rate) throw new Error('boom');
                return branch;
              };
              try {
                client.withFeature(key, { userId }, fails(0.5, 'on'), fails(0.02, 'off'));
              } catch {
                // a failed request, counted by withFeature
              }
            }
          }
          await sleep(50);
        }
      });
      const ended = await until(
        'every canary rolled back',
        async () => {
          const states = await Promise.all(
            ids.map(async (id) => (await api('GET', `${API}/canary-deployments/${id}`)).body),
          );
          const bad = states.find(
            (s) => s.status !== 'rolling_back' && s.status !== 'running' && s.status !== 'rolled_back',
          );
          if (bad) throw new Error(`canary ended ${bad.status}: ${JSON.stringify(bad)}`);
          return states.every((s) => s.status === 'rolled_back') ? states : undefined;
        },
        180_000,
      );
      serving = false;
      await Promise.all(traffic);

      for (const [i, canary] of ended.entries()) {
        const key = keys[i]!;
        const history = (await api('GET', `${API}/canary-deployments/${ids[i]}/history`)).body
          .entries as HistoryEntry[];
        const decidedAt = Date.parse(history.find((e) => e.type === 'CanaryRegressionDetected')!.recorded_at);
        const rolledBack = history.find((e) => e.type === 'CanaryRolledBack')!;
        const restoredVersion = rolledBack.data['flag_version'] as number;
        if (canary.rollback?.execution_id !== undefined && canary.rollback?.trigger_error === undefined)
          paths.rollbackService++;
        else paths.canaryItself++;
        const times = await until(
          `every watcher at version ${restoredVersion} of ${key}`,
          async () => {
            const seen = applied.get(key)!.map((versions) => versions.get(restoredVersion));
            return seen.every((t) => t !== undefined) ? (seen as number[]) : undefined;
          },
          60_000,
        );
        const lags = times.map((t) => t - decidedAt);
        perClientMs.push(...lags);
        allSdkMs.push(Math.max(...lags));
        toRestoreRecordedMs.push(Date.parse(rolledBack.recorded_at) - decidedAt);
        const at = (type: string) => history.find((e) => e.type === type)?.recorded_at;
        const triggered = at('CanaryRollbackTriggered');
        const endRequested = at('CanaryEndRequested');
        if (triggered !== undefined) toTriggerRecordedMs.push(Date.parse(triggered) - decidedAt);
        if (endRequested !== undefined) toEndRequestedMs.push(Date.parse(endRequested) - decidedAt);
        restoreToAllSdkMs.push(Math.max(...times) - Date.parse(rolledBack.recorded_at));
      }
      console.error(
        `round ${round + 1}/${ROUNDS}: ${CANARIES} canaries rolled back, all SDKs p99 so far ${percentile(allSdkMs, 0.99)} ms`,
      );
    }
    await Promise.all([...watchers, ...servers].map((client) => client.close()));
    console.log(
      JSON.stringify({
        canaryRestore: {
          canaries: CANARIES,
          rounds: ROUNDS,
          watchingClients: CLIENTS,
          servingClients: TRAFFIC_CLIENTS,
          paths,
          decisionToAllSdksMs: summary(allSdkMs),
          decisionToEachSdkMs: summary(perClientMs),
          decisionToTriggerRecordedMs: summary(toTriggerRecordedMs),
          decisionToEndRequestedMs: summary(toEndRequestedMs),
          decisionToRestoreRecordedMs: summary(toRestoreRecordedMs),
          allSdksAfterRestoreRecordedMs: summary(restoreToAllSdkMs),
        },
      }),
    );
  } finally {
    await system.stop();
  }
}

await main();
