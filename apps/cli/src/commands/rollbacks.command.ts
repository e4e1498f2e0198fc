import { Command, InvalidArgumentError } from 'commander';
import { ROLLBACK_COMMANDS, ROLLBACK_QUERIES, ROLLBACK_SCOPES, rollbackSubjects, toSnakeCase, type Execution, type RollbackCommandVerb } from '#rollgate/contracts';
import { confirmDestructive } from '../confirm.js';
import { usageError } from '../errors/cli-error.js';
import type { Json } from '../output/views/json-body.js';
import { executionListView, executionView, planListView, planView } from '../output/views/rollback.view.js';
import type { Runtime } from '../runtime.js';
import { rollbackEnded, rollbackFailure } from '../watch/outcomes.js';
import { watchUntil } from '../watch/watch.js';
import { parseKey, parseKeyList, parsePositiveInt, parseTime } from './arguments.js';
import { action, bodyFrom, defined, envelopeOf, withBodyOptions, withConfirmation, withWatchOptions, withWriteOptions, writeHeaders, type Options, type RuntimeFactory } from './command-kit.js';

/** A cancel waits for the execution to stop between steps (the gateway allows the same). */
const CANCEL_EXTRA_MS = 6_000;

/** An execution over the bus in the HTTP API's shape, so output and scripts do not depend on --via. */
const presentExecution = (execution: Execution): Json => ({ execution_id: execution.id, ...toSnakeCase<Json>(execution) });

/** GET /rollbacks/{id}/status or rg.qry.rollback.execution, as the HTTP API shows it. */
async function readExecution(rt: Runtime, id: string): Promise<Json> {
  if (rt.via === 'nats') return presentExecution(await rt.busRead<Execution>({ kind: 'query', subject: rollbackSubjects.query(ROLLBACK_QUERIES.execution), query: { id } }));
  return rt.http.send<Json>({ method: 'GET', path: `/rollbacks/${encodeURIComponent(id)}/status` });
}

/** Shows an execution, or follows it to its end with --watch (exit 10 unless it succeeded). */
async function showExecution(rt: Runtime, execution: Json, o: Options): Promise<void> {
  if (o['watch'] !== true) {
    rt.printer.result(execution, executionView);
    return;
  }
  const id = String(execution['execution_id']);
  const final = await watchUntil(rt, async () => (rollbackEnded(execution) ? execution : await readExecution(rt, id)), rollbackEnded, executionView, {
    intervalMs: o['interval'],
    timeoutMs: o['timeout'],
  });
  const failure = rollbackFailure(final);
  if (failure) throw failure;
}

/** Sends a rollback command over HTTP or the bus; undefined after a dry run. */
async function sendCommand(rt: Runtime, o: Options, http: { path: string; body: Json }, bus: { verb: RollbackCommandVerb; payload: Json; extraTimeoutMs?: number }): Promise<Json | undefined> {
  if (rt.via === 'nats') {
    const call = { kind: 'command' as const, subject: rollbackSubjects.command(bus.verb), envelope: envelopeOf(rt, bus.payload, o), ...(bus.extraTimeoutMs === undefined ? {} : { extraTimeoutMs: bus.extraTimeoutMs }) };
    const execution = await rt.busWrite<Execution>(call, o);
    return execution === undefined ? undefined : presentExecution(execution);
  }
  return rt.httpWrite<Json>({ method: 'POST', path: http.path, body: http.body, headers: writeHeaders(o) }, o);
}

const scopeOf = (value: string): string => {
  if (!(ROLLBACK_SCOPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${ROLLBACK_SCOPES.join(', ')}`);
  return value;
};

/** `rollgate rollbacks ...`: plans, executions, the emergency path; over HTTP, or `--via nats` as the operator user. */
export function rollbacksCommand(runtimeOf: RuntimeFactory): Command {
  const rollbacks = new Command('rollbacks').description('rollback plans and executions: run, emergency, follow, cancel');

  withWatchOptions(
    withConfirmation(
      withWriteOptions(
        rollbacks
          .command('emergency')
          .description('roll a target back now with the default steps of its scope; preempts a lower-priority rollback')
          .argument('<target>', 'a flag key (feature_flag), canary id, environment, segment, or "system"', parseKey)
          .option('--scope <scope>', ROLLBACK_SCOPES.join(', '), scopeOf, 'feature_flag')
          .option('--environments <list>', 'feature_flag and user_group: only these environments', parseKeyList)
          .option('--as-of <time>', 'environment and system_wide: restore to this time instead of switching off', parseTime)
          .option('--executed-by <name>', 'the person the rollback is run for (the seed\'s executed_by)'),
      ),
    ),
    'the rollback',
  ).action(
    action(runtimeOf, async (rt, [target], o) => {
      const scope = String(o['scope']);
      if (o.dryRun !== true) await confirmDestructive(rt.io, o.yes, `run an emergency rollback of ${scope} ${target}${o['environments'] ? ` in ${(o['environments'] as string[]).join(',')}` : ''}`);
      const execution = await sendCommand(
        rt,
        o,
        { path: '/rollbacks/emergency', body: defined({ scope, target_id: target, environments: o['environments'], as_of: o['asOf'], executed_by: o['executedBy'], reason: o.reason }) },
        { verb: ROLLBACK_COMMANDS.emergency, payload: defined({ scope, targetId: target, environments: o['environments'], asOf: o['asOf'], executedBy: o['executedBy'] }) },
      );
      if (execution !== undefined) await showExecution(rt, execution, o);
    }),
  );

  withWatchOptions(
    withConfirmation(
      withWriteOptions(
        rollbacks
          .command('execute')
          .description('run a plan now, or at --scheduled-at')
          .argument('<plan-id>', 'the plan', parseKey)
          .option('--scheduled-at <time>', 'run it then (a durable timer)', parseTime)
          .option('--executed-by <name>', 'the person the rollback is run for'),
      ),
    ),
    'the rollback',
  ).action(
    action(runtimeOf, async (rt, [planId], o) => {
      if (o.dryRun !== true) await confirmDestructive(rt.io, o.yes, `run rollback plan ${planId}`);
      const execution = await sendCommand(
        rt,
        o,
        { path: '/rollbacks/execute', body: defined({ plan_id: planId, scheduled_at: o['scheduledAt'], executed_by: o['executedBy'], reason: o.reason }) },
        { verb: ROLLBACK_COMMANDS.execute, payload: defined({ planId, scheduledAt: o['scheduledAt'], executedBy: o['executedBy'] }) },
      );
      if (execution !== undefined) await showExecution(rt, execution, o);
    }),
  );

  withWatchOptions(rollbacks.command('status').description("an execution: each step's state, attempts and timings").argument('<execution-id>', 'the execution', parseKey), 'the rollback').action(
    action(runtimeOf, async (rt, [id], o) => showExecution(rt, await readExecution(rt, id!), o)),
  );

  withWriteOptions(rollbacks.command('cancel').description('cancel a running execution (takes effect between steps)').argument('<execution-id>', 'the execution', parseKey)).action(
    action(runtimeOf, async (rt, [id], o) => {
      const result = await sendCommand(
        rt,
        o,
        { path: `/rollbacks/${encodeURIComponent(id!)}/cancel`, body: defined({ reason: o.reason }) },
        { verb: ROLLBACK_COMMANDS.cancel, payload: { executionId: id }, extraTimeoutMs: CANCEL_EXTRA_MS },
      );
      if (result !== undefined) rt.printer.result(result, executionView);
    }),
  );

  rollbacks
    .command('list')
    .description('executions, newest first')
    .option('--status <status>', 'scheduled, running, succeeded, failed, cancelled or preempted')
    .option('--scope <scope>', ROLLBACK_SCOPES.join(', '), scopeOf)
    .option('--target <id>', 'the target', parseKey)
    .option('--plan <id>', 'the plan', parseKey)
    .option('--limit <n>', 'at most this many', parsePositiveInt)
    .action(
      action(runtimeOf, async (rt, _args, o) => {
        if (rt.via === 'nats') {
          const query = defined({ status: o['status'], scope: o['scope'], targetId: o['target'], planId: o['plan'], limit: o['limit'] });
          const items = await rt.busRead<unknown[]>({ kind: 'query', subject: rollbackSubjects.query(ROLLBACK_QUERIES.executions), query });
          rt.printer.result({ rollbacks: toSnakeCase(items), count: items.length }, executionListView);
          return;
        }
        const query = { status: o['status'], scope: o['scope'], target_id: o['target'], plan_id: o['plan'], limit: o['limit'] };
        rt.printer.result(await rt.http.send({ method: 'GET', path: '/rollbacks', query }), executionListView);
      }),
    );

  rollbacks.addCommand(plansCommand(runtimeOf));
  return rollbacks;
}

/** Plans go over HTTP (the gateway maps the seed's plan fields); `--via nats` is for running rollbacks. */
function plansCommand(runtimeOf: RuntimeFactory): Command {
  const plans = new Command('plans').description('rollback plans (over HTTP)');
  const httpOnly = (rt: Runtime): void => {
    if (rt.via === 'nats') throw usageError('rollbacks plans go over HTTP: leave out --via nats (the bus carries emergency, execute, status, list and cancel)');
  };

  plans
    .command('list')
    .description('plans (GET /rollbacks/plans)')
    .option('--scope <scope>', ROLLBACK_SCOPES.join(', '), scopeOf)
    .option('--target <id>', 'the target', parseKey)
    .option('--type <type>', 'manual, emergency, scheduled or automatic')
    .option('--status <status>', 'active or archived')
    .action(
      action(runtimeOf, async (rt, _args, o) => {
        httpOnly(rt);
        const query = { scope: o['scope'], target_id: o['target'], rollback_type: o['type'], status: o['status'] };
        rt.printer.result(await rt.http.send({ method: 'GET', path: '/rollbacks/plans', query }), planListView);
      }),
    );

  plans
    .command('get')
    .description('one plan')
    .argument('<plan-id>', 'the plan', parseKey)
    .action(
      action(runtimeOf, async (rt, [id]) => {
        httpOnly(rt);
        rt.printer.result(await rt.http.send({ method: 'GET', path: `/rollbacks/plans/${encodeURIComponent(id!)}` }), planView);
      }),
    );

  withBodyOptions(
    withWriteOptions(
      plans
        .command('create')
        .description("create a plan: the seed's body with --data / --file, or one disable step for a flag with --flag")
        .option('--id <id>', 'the plan id (default: derived by the service)', parseKey)
        .option('--name <name>', 'its name')
        .option('--type <type>', 'manual, emergency, scheduled or automatic', 'manual')
        .option('--flag <key>', 'a feature_flag plan that switches this flag off', parseKey),
    ),
    'plan',
  ).action(
    action(runtimeOf, async (rt, _args, o) => {
      httpOnly(rt);
      const data = bodyFrom(rt, o);
      let body: Json;
      if (data !== undefined) body = { ...defined({ id: o['id'], name: o['name'] }), ...data };
      else if (o['flag'] !== undefined) {
        body = defined({
          id: o['id'],
          name: o['name'] ?? `disable ${String(o['flag'])}`,
          rollback_type: o['type'],
          scope: 'feature_flag',
          target_id: o['flag'],
          rollback_steps: [{ type: 'disable_feature_flag', config: { flag_id: o['flag'] } }],
        });
      } else throw usageError('give the plan with --data / --file, or --flag <key> for a plan that switches a flag off');
      const result = await rt.httpWrite({ method: 'POST', path: '/rollbacks/plans', body, headers: writeHeaders(o) }, o);
      if (result !== undefined) rt.printer.result(result, planView);
    }),
  );
  return plans;
}
