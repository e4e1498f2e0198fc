import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Execution, Reply } from '#rollgate/contracts';
import pg from 'pg';
import { startPrivateNats, waitFor, type PrivateNats } from '#rollgate/testing';
import { startRollbackTestApp, type RollbackTestApp } from './testing/rollback-test-app.js';

// Webhook-only plans on the canary scope need no flags service: this suite is the rollback service alone on
// Postgres and NATS (the e2e suites run it with the flags service and the gateway).
let nats: PrivateNats;
let app: RollbackTestApp;
let server: Server;
let hookUrl = '';
const deliveries: Array<{ key: string | undefined; at: number }> = [];

const request = async <T>(subject: string, body: unknown): Promise<Reply<T>> =>
  (await app.nc.request(subject, JSON.stringify(body), { timeout: 10_000 })).json<Reply<T>>();
const command = <T>(verb: string, payload: object, commandId = randomUUID()) => request<T>(`rg.cmd.rollback.${verb}`, { commandId, actor: 'alice', reason: 'test', payload });
const ok = async <T>(reply: Promise<Reply<T>>): Promise<T> => {
  const r = await reply;
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.result;
};
const sql = async <Row extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<{ rows: Row[]; rowCount: number | null }> => {
  const client = new pg.Client({ connectionString: app.db.appUrl });
  await client.connect();
  try {
    return await client.query<Row>(text, params);
  } finally {
    await client.end();
  }
};
const finished = (id: string) =>
  waitFor(`execution ${id} finished`, async () => {
    const state = await ok(request<Execution>('rg.qry.rollback.execution', { id }));
    return ['succeeded', 'failed', 'cancelled', 'preempted'].includes(state.status) ? state : undefined;
  }, { timeoutMs: 20_000, intervalMs: 25 });
const webhookPlan = (id: string, target: string, extra: object = {}) =>
  ok(command('create-plan', { plan: { id, name: id, rollbackType: 'manual', scope: 'canary_deployment', targetId: target, steps: [{ type: 'call_webhook', config: { url: hookUrl } }], ...extra } }));

beforeAll(async () => {
  server = createServer((req, res) => {
    deliveries.push({ key: req.headers['idempotency-key'] as string | undefined, at: Date.now() });
    setTimeout(() => res.end('{}'), 300);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  nats = await startPrivateNats();
  app = await startRollbackTestApp(nats);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await nats?.destroy();
  server?.closeAllConnections();
  server?.close();
});

describe('rollback service (Postgres + NATS)', () => {
  it('seeds emergency_auto_submit once, also across a restart on the same database', async () => {
    const plan = await ok(request<{ version: number }>('rg.qry.rollback.plan', { id: 'emergency_auto_submit' }));
    expect(plan).toMatchObject({ id: 'emergency_auto_submit', rollbackType: 'emergency', scope: 'feature_flag', targetId: 'auto_submit_enabled', version: 1 });
    const { rows } = await sql<{ n: number }>("SELECT count(*)::int AS n FROM es.events WHERE stream_id = 'rollback-plan-emergency_auto_submit'");
    expect(rows[0]!.n).toBe(1);
  });

  it('one active execution per target, held in the store: of 8 concurrent starts on one target exactly one runs', async () => {
    await webhookPlan('lock_plan', 'canary-lock');
    const replies = await Promise.all(Array.from({ length: 8 }, () => command<Execution>('execute', { planId: 'lock_plan' })));
    const started = replies.filter((r) => r.ok);
    expect(started).toHaveLength(1);
    expect(replies.filter((r) => !r.ok).map((r) => !r.ok && r.error.code)).toEqual(Array(7).fill('ROLLBACK.TARGET_IN_USE'));
    const id = (started[0] as { result: Execution }).result.id;
    const { rows } = await sql<{ execution_id: string }>("SELECT execution_id FROM rollback.active_targets WHERE target_id = 'canary-lock'");
    expect(rows).toEqual([{ execution_id: id }]);
    expect(await finished(id)).toMatchObject({ status: 'succeeded' });
    expect((await sql("SELECT 1 FROM rollback.active_targets WHERE target_id = 'canary-lock'")).rowCount).toBe(0);
  });

  it('a repeated command id is the same execution (nothing appended); its key on another request is refused', async () => {
    await webhookPlan('idem_plan', 'canary-idem');
    const commandId = randomUUID();
    const first = await ok(command<Execution>('execute', { planId: 'idem_plan' }, commandId));
    const again = await ok(command<Execution>('execute', { planId: 'idem_plan' }, commandId));
    expect(again.id).toBe(first.id);
    expect(await command('execute', { planId: 'idem_plan', executedBy: 'someone else' }, commandId)).toMatchObject({ ok: false, error: { code: 'ROLLBACK.IDEMPOTENCY_KEY_REUSED' } });
    await finished(first.id);
    expect(deliveries.filter((d) => d.key === `rb-${first.id}-0`)).toHaveLength(1);
  });

  it('a scheduled execution survives a restart of the service and fires once at its time', async () => {
    await webhookPlan('sched_plan', 'canary-sched');
    const at = new Date(Date.now() + 2_500).toISOString();
    const scheduled = await ok(command<Execution>('execute', { planId: 'sched_plan', scheduledAt: at }));
    expect(scheduled.status).toBe('scheduled');
    const db = app.db;
    await app.stop();
    app = await startRollbackTestApp(nats, {}, db);
    const done = await finished(scheduled.id);
    expect(done.status).toBe('succeeded');
    expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(Date.parse(at));
    expect(deliveries.filter((d) => d.key === `rb-${scheduled.id}-0`)).toHaveLength(1);
    const { rows } = await sql<{ n: number }>("SELECT count(*)::int AS n FROM es.events WHERE stream_id = $1 AND event_type = 'ExecutionStarted'", [`rollback-${scheduled.id}`]);
    expect(rows[0]!.n).toBe(1);
  });
});
