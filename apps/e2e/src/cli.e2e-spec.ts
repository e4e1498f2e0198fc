import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RollgateSystem, runCli, startCli, uniqueKey, type CliRun } from './harness/index.js';

jest.setTimeout(120_000);

// The CLI as a script runs it (harness/cli.ts): stdout a pipe, so JSON by default; every run's JSON is parsed.
let system: RollgateSystem;
let admin: Record<string, string>;
let operator: Record<string, string>;
let operatorTokenId: string;
let scratch: string;
/** The operator NATS user, its password from a credentials file; no gateway URL and no token: the bus alone. */
let bus: Record<string, string>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = (run: CliRun): any => {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
};

/** Runs the CLI and expects exit 0 and JSON on stdout. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ok(args: string[], env: Record<string, string> = admin): Promise<any> {
  const run = await runCli(args, env);
  if (run.code !== 0) throw new Error(`rollgate ${args.join(' ')} exited ${run.code}:\n${run.stderr}${run.stdout}`);
  return json(run);
}

/** Runs the CLI and expects it to fail with `exit`: stdout empty, stderr one JSON error naming the code. */
async function fails(args: string[], exit: number, code: string, env: Record<string, string> = admin): Promise<{ code: string; message: string; details?: unknown }> {
  const run = await runCli(args, env);
  expect({ exit: run.code, stdout: run.stdout }).toEqual({ exit, stdout: '' });
  const error = JSON.parse(run.stderr).error;
  expect(error.code).toBe(code);
  return error;
}

/** Read through the harness, not the CLI under test: the check must not share the CLI's mistakes. */
const enabled = async (key: string): Promise<Record<string, boolean>> => {
  const flag = (await system.api('GET', `/api/v1/feature-flags/${key}`)).body;
  return Object.fromEntries(Object.entries(flag.environments as Record<string, { enabled: boolean }>).map(([env, c]) => [env, c.enabled]));
};

beforeAll(async () => {
  system = await RollgateSystem.start({
    services: ['flags', 'rollback', 'canary', 'gateway'],
    env: {
      flags: { ROLLGATE_FLAGS_SEED: 'false' },
      rollback: { ROLLGATE_ROLLBACK_SEED: 'false', ROLLGATE_ROLLBACK_POLL_MS: '50', ROLLGATE_ROLLBACK_CONSISTENCY_WAIT_MS: '1000' },
      canary: { CANARY_MONITORING_INTERVAL: '1', ROLLGATE_CANARY_LOOK_MS: '200', ROLLGATE_CANARY_REFRESH_MS: '500' },
    },
  });
  admin = { ROLLGATE_URL: system.gatewayUrl, ROLLGATE_TOKEN: system.adminToken };
  const issued = await ok(['tokens', 'issue', '--name', 'cli e2e operator', '--role', 'operator', '--expires-in', '1h', '--reason', 'e2e']);
  expect(issued).toMatchObject({ role: 'operator', status: 'active', issued_by: 'admin' });
  expect(issued.token).toMatch(/^rg_[0-9a-f]{16}_/);
  operatorTokenId = issued.id;
  operator = { ROLLGATE_URL: system.gatewayUrl, ROLLGATE_TOKEN: issued.token };
  scratch = mkdtempSync(join(tmpdir(), 'rollgate-cli-e2e-'));
  const natsEnv = system.nats.env('operator');
  const credentials = join(scratch, 'credentials.env');
  writeFileSync(credentials, `RG_NATS_OPERATOR_PASSWORD=${natsEnv['NATS_PASSWORD']}\n`, { mode: 0o600 });
  bus = { NATS_URL: natsEnv['NATS_URL']!, ROLLGATE_NATS_CREDENTIALS_FILE: credentials, ROLLGATE_ACTOR: 'operator:e2e-oncall' };
}, 180_000);

afterAll(async () => {
  await system?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the rollgate CLI as a child process against flags, rollback, canary and gateway', () => {
  it('flags: create, list, get, toggle, rollout, evaluate, history and as-of, with admin and operator tokens', async () => {
    const key = uniqueKey('cli_flag');
    const created = await ok(['flags', 'create', key, '--strategy', 'percentage', '--percentage', '50', '--environments', 'production,staging', '--tags', 'cli', '--idempotency-key', `create-${key}`]);
    expect(created).toMatchObject({ key, version: 1, duplicate: false, flag: { key, environments: { production: { enabled: true, default_rollout: { type: 'percentage', ppm: 500_000 } } } } });
    // The same key again is the first result, nothing appended.
    expect(await ok(['flags', 'create', key, '--strategy', 'percentage', '--percentage', '50', '--environments', 'production,staging', '--tags', 'cli', '--idempotency-key', `create-${key}`])).toMatchObject({ version: 1, duplicate: true });

    const listed = await ok(['flags', 'list', '--tag', 'cli']);
    expect(listed.flags.map((f: { key: string }) => f.key)).toContain(key);

    const beforeRollout = new Date().toISOString();
    const toggled = await ok(['flags', 'toggle', key, 'off', '-e', 'staging', '--reason', 'cli kill switch'], operator);
    expect(toggled.flag.environments.staging.enabled).toBe(false);
    const rollout = await ok(['flags', 'rollout', key, '-e', 'production', '--percentage', '25'], operator);
    expect(rollout.flag.environments.production.default_rollout).toEqual({ type: 'percentage', ppm: 250_000 });
    const got = await ok(['flags', 'get', key], operator);
    expect(got).toMatchObject({ key, version: 3, status: 'active', environments: { production: { enabled: true }, staging: { enabled: false } } });

    const evaluation = await ok(['flags', 'evaluate', key, '--user', 'user-1', '-e', 'production', '--attr', 'plan=pro'], operator);
    expect(evaluation).toMatchObject({ flag: key, version: 3 });
    expect(['SPLIT', 'DEFAULT', 'STATIC', 'TARGETING_MATCH']).toContain(evaluation.reason);

    const history = await ok(['flags', 'history', key]);
    expect(history.entries.map((e: { version: number }) => e.version)).toEqual([1, 2, 3]);
    expect(history.entries[1]).toMatchObject({ actor: `token:${operatorTokenId}`, reason: 'cli kill switch' });

    const then = await ok(['flags', 'as-of', key, beforeRollout]);
    expect(then.environments.production.default_rollout).toEqual({ type: 'percentage', ppm: 500_000 });
    expect(then.environments.staging.enabled).toBe(true);

    // A table for a person: headings and the key, not JSON.
    const table = await runCli(['-o', 'table', 'flags', 'list', '--tag', 'cli'], admin);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^KEY\s+TYPE\s+STATUS\s+VERSION\s+ENVIRONMENTS/);
    expect(table.stdout).toContain(key);

    // Bad input never reaches the server; the server's own refusals carry their code.
    await fails(['flags', 'rollout', key, '-e', 'production', '--percentage', '150'], 2, 'CLI.USAGE');
    await fails(['flags', 'create', key, '--environments', 'production'], 5, 'FLAGS.ALREADY_EXISTS');
    await fails(['flags', 'get', uniqueKey('missing')], 4, 'FLAGS.NOT_FOUND');
    await fails(['flags', 'create', uniqueKey('nope')], 3, 'GENERIC.FORBIDDEN', operator);
  });

  it('an emergency rollback over HTTP: --dry-run sends nothing, no --yes without a terminal refuses, --watch waits for it (exit 0, flag off)', async () => {
    const key = uniqueKey('cli_rb');
    await ok(['flags', 'create', key, '--environments', 'production,staging']);

    const dry = await ok(['rollbacks', 'emergency', key, '--reason', 'drill', '--dry-run'], operator);
    expect(dry).toEqual({
      dry_run: true,
      request: {
        transport: 'http',
        method: 'POST',
        url: `${system.gatewayUrl}/api/v1/rollbacks/emergency`,
        headers: { authorization: 'Bearer ***', 'x-rollgate-reason': 'drill' },
        body: { scope: 'feature_flag', target_id: key, reason: 'drill' },
      },
    });
    const refused = await fails(['rollbacks', 'emergency', key], 7, 'CLI.NOT_CONFIRMED', operator);
    expect(refused.message).toContain('--yes');
    expect((await ok(['rollbacks', 'list', '--target', key])).count).toBe(0);
    expect(await enabled(key)).toMatchObject({ production: true, staging: true });

    const done = await ok(['rollbacks', 'emergency', key, '--yes', '--watch', '--interval', '100ms', '--reason', 'cli drill', '--executed-by', 'oncall'], operator);
    expect(done).toMatchObject({ status: 'succeeded', type: 'emergency', scope: 'feature_flag', target_id: key, cause: { kind: 'emergency', actor: `token:${operatorTokenId}`, reason: 'cli drill', executed_by: 'oncall' } });
    expect(done.steps.every((s: { status: string }) => s.status === 'succeeded')).toBe(true);
    expect(await enabled(key)).toMatchObject({ production: false, staging: false });

    const status = await ok(['rollbacks', 'status', done.execution_id]);
    expect(status).toMatchObject({ execution_id: done.execution_id, status: 'succeeded' });
    const listed = await ok(['rollbacks', 'list', '--target', key]);
    expect(listed.rollbacks.map((r: { id: string }) => r.id)).toEqual([done.execution_id]);

    const missing = uniqueKey('no_such_flag');
    const error = await fails(['rollbacks', 'emergency', missing, '--yes', '--watch'], 4, 'ROLLBACK.TARGET_NOT_FOUND', operator);
    expect(error.message).toContain(missing);
  });

  it('an emergency rollback over the bus as the operator NATS user (credentials file), watched to the end; an unknown flag exits non-zero with the code', async () => {
    const key = uniqueKey('cli_bus');
    await ok(['flags', 'create', key, '--environments', 'production']);
    const natsUrl = bus['NATS_URL']!;

    const dry = await ok(['--via', 'nats', 'rollbacks', 'emergency', key, '--dry-run', '--idempotency-key', 'bus-drill-1'], bus);
    expect(dry.request).toMatchObject({ transport: 'nats', user: 'operator', subject: 'rg.cmd.rollback.emergency', envelope: { commandId: 'bus-drill-1', actor: 'operator:e2e-oncall', payload: { scope: 'feature_flag', targetId: key } } });

    const done = await ok(['--via', 'nats', 'rollbacks', 'emergency', key, '--yes', '--watch', '--interval', '100ms', '--reason', 'bus drill'], bus);
    expect(done).toMatchObject({ status: 'succeeded', target_id: key, cause: { kind: 'emergency', actor: 'operator:e2e-oncall', reason: 'bus drill' } });
    expect(await enabled(key)).toEqual({ development: false, staging: false, production: false });
    expect(await ok(['--via', 'nats', 'rollbacks', 'status', done.execution_id], bus)).toMatchObject({ execution_id: done.execution_id, status: 'succeeded' });
    const listed = await ok(['--via', 'nats', 'rollbacks', 'list', '--target', key], bus);
    expect(listed).toMatchObject({ count: 1, rollbacks: [{ id: done.execution_id, status: 'succeeded' }] });

    // The flag's audit names the operator the bus command named, with the execution as correlation id.
    const audit = await ok(['audit', '--key', key]);
    expect(audit.entries).toEqual(expect.arrayContaining([expect.objectContaining({ event_type: 'FlagToggled', correlation_id: done.execution_id, actor: 'operator:e2e-oncall' })]));
    const rollbackAudit = await ok(['audit', '--source', 'rollback', '--key', done.execution_id]);
    expect(rollbackAudit.entries[0]).toMatchObject({ event_type: 'ExecutionRequested', actor: 'operator:e2e-oncall', reason: 'bus drill' });

    await fails(['--via', 'nats', 'rollbacks', 'emergency', uniqueKey('no_such_flag'), '--yes', '--watch'], 4, 'ROLLBACK.TARGET_NOT_FOUND', bus);
    await fails(['--via', 'nats', 'rollbacks', 'emergency', key, '--yes'], 2, 'CLI.NATS_CONFIG', { NATS_URL: natsUrl });
    await fails(['--via', 'nats', 'rollbacks', 'status', 'x1'], 3, 'GENERIC.UNAUTHORIZED', { NATS_URL: natsUrl, NATS_USER: 'operator', NATS_PASSWORD: 'pwrongwrongwrongwrong' });
  });

  it('a canary: created and started, its state read over HTTP and the bus, watched live until an operator rolls it back over the bus (exit 12: not promoted)', async () => {
    const key = uniqueKey('cli_canary');
    await ok(['flags', 'create', key, '--percentage', '0', '--environments', 'production']);
    const created = await ok(['canaries', 'create', '--flag', key, '--percentage', '10', '--duration-hours', '1', '--start'], operator);
    expect(created).toMatchObject({ feature_flag_id: key, strategy: 'percentage', status: 'running' });
    const id = created.id as string;

    const state = await ok(['canaries', 'get', id], operator);
    expect(state).toMatchObject({ id, status: 'running', stage: 0, certified: false, totals: { canary: { requests: 0 }, baseline: { requests: 0 } } });
    expect(Array.isArray(state.tests)).toBe(true);
    expect(await ok(['--via', 'nats', 'canaries', 'get', id], bus)).toMatchObject({ id, feature_flag_id: key, status: 'running', stage: 0, totals: { canary: { requests: 0 } } });
    const timedOut = await runCli(['canaries', 'get', id, '--watch', '--interval', '100ms', '--timeout', '300ms'], operator);
    expect(timedOut.code).toBe(8);
    expect(json(timedOut)).toMatchObject({ id, status: 'running' });

    const watching = startCli(['canaries', 'get', id, '--watch', '--interval', '100ms', '--timeout', '60s'], operator);
    await fails(['--via', 'nats', 'canaries', 'rollback', id], 7, 'CLI.NOT_CONFIRMED', bus);
    const rolledBack = await ok(['--via', 'nats', 'canaries', 'rollback', id, '--yes', '--reason', 'cli says no'], bus);
    expect(rolledBack).toMatchObject({ id, duplicate: false, rollback: { by: 'operator:e2e-oncall', reason: 'cli says no' } });
    expect(['rolling_back', 'rolled_back']).toContain(rolledBack.status);
    const watched = await watching.done;
    expect(watched.code).toBe(12);
    expect(json(watched)).toMatchObject({ id, status: 'rolled_back' });
    expect(JSON.parse(watched.stderr).error).toMatchObject({ code: 'CLI.CANARY_NOT_PROMOTED' });
    expect((await system.api('GET', `/api/v1/feature-flags/${key}`)).body.environments.production.default_rollout).toEqual({ type: 'percentage', ppm: 0 });

    // Promotion needs a certificate or an override; a watched promoted canary exits 0.
    const other = uniqueKey('cli_canary_p');
    await ok(['flags', 'create', other, '--percentage', '0', '--environments', 'production']);
    const second = await ok(['canaries', 'create', '--flag', other, '--percentage', '5', '--start'], operator);
    await fails(['canaries', 'promote', second.id], 5, 'CANARY.PROMOTION_CONFLICT', operator);
    await ok(['canaries', 'promote', second.id, '--override', '--reason', 'ship it'], operator);
    const promoted = await runCli(['canaries', 'get', second.id, '--watch', '--interval', '100ms', '--timeout', '30s'], operator);
    expect({ exit: promoted.code, stderr: promoted.stderr }).toEqual({ exit: 0, stderr: '' });
    expect(json(promoted)).toMatchObject({ id: second.id, status: 'promoted', promotion: { override: true } });
  });

  it('plans: create, get, list, execute --watch; a rollback that does not complete exits 10 and says why; cancelling it then exits 5', async () => {
    const key = uniqueKey('cli_plan');
    await ok(['flags', 'create', key, '--environments', 'production']);
    const planId = uniqueKey('plan');
    const steps = [
      { type: 'disable_feature_flag', config: { flag_id: key } },
      // No Kubernetes API is configured here: the step fails at once (not retryable).
      { type: 'restart_service', config: { service_name: 'checkout' } },
    ];
    const plan = await ok(['rollbacks', 'plans', 'create', '--id', planId, '--data', JSON.stringify({ name: 'off, then restart', rollback_type: 'manual', scope: 'feature_flag', target_id: key, rollback_steps: steps })], operator);
    expect(plan).toMatchObject({ id: planId, version: 1, rollback_steps: [{ type: 'disable_feature_flag' }, { type: 'restart_service' }] });
    expect(await ok(['rollbacks', 'plans', 'get', planId])).toMatchObject({ id: planId, target_id: key });
    expect((await ok(['rollbacks', 'plans', 'list', '--target', key])).plans.map((p: { id: string }) => p.id)).toEqual([planId]);

    const run = await runCli(['rollbacks', 'execute', planId, '--yes', '--watch', '--interval', '100ms', '--reason', 'no kube here'], operator);
    expect(run.code).toBe(10);
    const final = json(run);
    expect(final).toMatchObject({ status: 'failed', plan_id: planId });
    const error = JSON.parse(run.stderr).error;
    expect(error.code).toBe('CLI.ROLLBACK_INCOMPLETE');
    expect(error.message).toContain('ROLLBACK.KUBERNETES_NOT_CONFIGURED');
    expect((await enabled(key)).production).toBe(false);
    await fails(['rollbacks', 'cancel', final.execution_id, '--reason', 'too late'], 5, 'ROLLBACK.INVALID_STATE', operator);
  });

  it('tokens: issue, list, revoke (no --yes refuses; a revoked token is refused), and the token audit', async () => {
    const issued = await ok(['tokens', 'issue', '--name', 'cli reader', '--role', 'reader']);
    const reader = { ROLLGATE_URL: system.gatewayUrl, ROLLGATE_TOKEN: issued.token as string };
    expect((await ok(['flags', 'list'], reader)).flags).toBeDefined();

    const listed = await ok(['tokens', 'list', '--role', 'reader']);
    expect(listed.tokens.map((t: { id: string }) => t.id)).toContain(issued.id);
    expect(JSON.stringify(listed)).not.toContain(issued.token);

    await fails(['tokens', 'revoke', issued.id], 7, 'CLI.NOT_CONFIRMED');
    await fails(['tokens', 'revoke', 'not-an-id', '--yes'], 2, 'CLI.USAGE');
    expect(await ok(['tokens', 'revoke', issued.id, '--yes', '--reason', 'rotated'])).toMatchObject({ id: issued.id, status: 'revoked', revoked_by: 'admin' });
    await fails(['flags', 'list'], 3, 'GENERIC.UNAUTHORIZED', reader);

    const audit = await ok(['audit', '--source', 'tokens', '--key', issued.id]);
    expect(audit.entries.map((e: { event_type: string }) => e.event_type)).toEqual(['ApiTokenIssued', 'ApiTokenRevoked']);
    await fails(['tokens', 'list'], 3, 'GENERIC.FORBIDDEN', operator);
  });
});
