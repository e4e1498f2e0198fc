import { Command, InvalidArgumentError } from 'commander';
import { CANARY_COMMANDS, CANARY_QUERIES, CANARY_STRATEGIES, canarySubjects, toSnakeCase, type CanaryCommandVerb } from '#rollgate/contracts';
import { confirmDestructive } from '../confirm.js';
import { usageError } from '../errors/cli-error.js';
import type { Json } from '../output/views/json-body.js';
import { canaryListView, canaryView } from '../output/views/canary.view.js';
import type { Runtime } from '../runtime.js';
import { canaryEnded, canaryFailure } from '../watch/outcomes.js';
import { watchUntil } from '../watch/watch.js';
import { parseKey, parseKeyList, parseList, parsePercentage, parsePositiveInt } from './arguments.js';
import { action, bodyFrom, defined, envelopeOf, withBodyOptions, withConfirmation, withWatchOptions, withWriteOptions, writeHeaders, type Options, type RuntimeFactory } from './command-kit.js';

const canaryPath = (id: string): string => `/canary-deployments/${encodeURIComponent(id)}`;

const parseRate = (value: string): number => parsePercentage(value) / 100;

const strategyOf = (value: string): string => {
  if (!(CANARY_STRATEGIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${CANARY_STRATEGIES.join(', ')}`);
  return value;
};

/** A canary over the bus in the HTTP API's shape (the seed's `feature_flag_id`, snake_case). */
const presentCanary = (canary: Json): Json => {
  const { flagKey, ...rest } = canary;
  return { feature_flag_id: flagKey, ...toSnakeCase<Json>(rest) };
};

/** GET /canary-deployments/{id} or rg.qry.canary.get. */
async function readCanary(rt: Runtime, id: string): Promise<Json> {
  if (rt.via === 'nats') return presentCanary(await rt.busRead<Json>({ kind: 'query', subject: canarySubjects.query(CANARY_QUERIES.get), query: { id } }));
  return rt.http.send<Json>({ method: 'GET', path: canaryPath(id) });
}

/** A canary command over HTTP, or `--via nats` as the operator user; undefined after a dry run. */
async function sendCommand(rt: Runtime, o: Options, http: { path: string; body: Json }, bus: { verb: CanaryCommandVerb; payload: Json }): Promise<Json | undefined> {
  if (rt.via === 'nats') {
    const result = await rt.busWrite<{ canary: Json; duplicate: boolean }>({ kind: 'command', subject: canarySubjects.command(bus.verb), envelope: envelopeOf(rt, bus.payload, o) }, o);
    return result === undefined ? undefined : { ...presentCanary(result.canary), duplicate: result.duplicate };
  }
  return rt.httpWrite<Json>({ method: 'POST', path: http.path, body: http.body, headers: writeHeaders(o) }, o);
}

/** Shows a canary, or with --watch follows it until it ends (exit 11 on a regression, 12 on another end without promotion). */
async function showCanary(rt: Runtime, canary: Json, o: Options): Promise<void> {
  if (o['watch'] !== true) {
    rt.printer.result(canary, canaryView);
    return;
  }
  const id = String(canary['id']);
  const final = await watchUntil(rt, () => readCanary(rt, id), canaryEnded, canaryView, { intervalMs: o['interval'], timeoutMs: o['timeout'] });
  const failure = canaryFailure(final);
  if (failure) throw failure;
}

/** `rollgate canaries ...`: the gateway's /canary-deployments routes. */
export function canariesCommand(runtimeOf: RuntimeFactory): Command {
  const canaries = new Command('canaries').description('canary releases of a flag: create, start, follow, promote, roll back');

  withWatchOptions(
    withBodyOptions(
      withWriteOptions(
        canaries
          .command('create')
          .description('create a canary of a flag (POST /canary-deployments); --start starts it too')
          .requiredOption('--flag <key>', 'the flag', parseKey)
          .option('--id <id>', 'the canary id (default: derived by the service)', parseKey)
          .option('--name <name>', 'its name (default: "<flag> canary")')
          .option('--strategy <strategy>', CANARY_STRATEGIES.join(', '), strategyOf, 'percentage')
          .option('--percentage <n>', 'percent of users in the canary cohort (1-50)', parsePercentage)
          .option('-e, --environment <env>', 'the environment whose rollout changes (default production)', parseKey)
          .option('--users <list>', 'user_list: the canary cohort', parseList)
          .option('--environments <list>', 'environment: turned on for everyone', parseKeyList)
          .option('--duration-hours <n>', 'the deadline for a decision (1-168)', parsePositiveInt)
          .option('--min-duration-minutes <n>', 'the least time before promotion', parsePositiveInt)
          .option('--max-error-rate <percent>', 'rollback criteria: the canary error rate, in percent', parseRate)
          .option('--min-requests <n>', 'canary requests each stage needs before it may advance', parsePositiveInt)
          .option('--start', 'start it at once'),
      ),
      'canary',
    ),
    'the canary',
  ).action(
    action(runtimeOf, async (rt, _args, o) => {
      if (rt.via === 'nats') throw usageError('canaries create goes over HTTP: leave out --via nats (the bus carries get, start, promote and rollback)');
      const data = bodyFrom(rt, o);
      const body = {
        ...defined({
          id: o['id'],
          feature_flag_id: o['flag'],
          name: o['name'] ?? `${String(o['flag'])} canary`,
          strategy: o['strategy'],
          target_percentage: o['percentage'],
          environment: o['environment'],
          target_users: o['users'],
          target_environments: o['environments'],
          monitoring_duration_hours: o['durationHours'],
          min_duration_minutes: o['minDurationMinutes'],
          rollback_criteria: o['maxErrorRate'] === undefined ? undefined : { max_error_rate: o['maxErrorRate'] },
          min_requests: o['minRequests'],
          start: o['start'],
          reason: o.reason,
        }),
        ...(data ?? {}),
      };
      const canary = await rt.httpWrite<Json>({ method: 'POST', path: '/canary-deployments', body, headers: writeHeaders(o) }, o);
      if (canary !== undefined) await showCanary(rt, canary, o);
    }),
  );

  withWatchOptions(withWriteOptions(canaries.command('start').description('start a created canary (its first stage applied)').argument('<id>', 'the canary', parseKey)), 'the canary').action(
    action(runtimeOf, async (rt, [id], o) => {
      const canary = await sendCommand(rt, o, { path: `${canaryPath(id!)}/start`, body: defined({ reason: o.reason }) }, { verb: CANARY_COMMANDS.start, payload: { id } });
      if (canary !== undefined) await showCanary(rt, canary, o);
    }),
  );

  withWatchOptions(canaries.command('get').description('a canary: status, stage, cohorts and the judge\'s statistic').argument('<id>', 'the canary', parseKey), 'the canary').action(
    action(runtimeOf, async (rt, [id], o) => showCanary(rt, await readCanary(rt, id!), o)),
  );

  canaries
    .command('list')
    .description('canaries (GET /canary-deployments)')
    .option('--flag <key>', 'of this flag', parseKey)
    .option('--status <status>', 'in this status')
    .option('--active', 'only those that own their flag now')
    .option('--limit <n>', 'at most this many', parsePositiveInt)
    .action(
      action(runtimeOf, async (rt, _args, o) => {
        if (rt.via === 'nats') throw usageError('canaries list goes over HTTP: leave out --via nats');
        const query = { feature_flag_id: o['flag'], status: o['status'], active: o['active'], limit: o['limit'] };
        rt.printer.result(await rt.http.send({ method: 'GET', path: '/canary-deployments', query }), canaryListView);
      }),
    );

  withWriteOptions(
    canaries
      .command('promote')
      .description('promote: everyone gets the canary (409 CANARY.PROMOTION_CONFLICT unless certified, or --override)')
      .argument('<id>', 'the canary', parseKey)
      .option('--override', 'promote without a certificate'),
  ).action(
    action(runtimeOf, async (rt, [id], o) => {
      const canary = await sendCommand(rt, o, { path: `${canaryPath(id!)}/promote`, body: defined({ override: o['override'], reason: o.reason }) }, { verb: CANARY_COMMANDS.promote, payload: defined({ id, override: o['override'] }) });
      if (canary !== undefined) rt.printer.result(canary, canaryView);
    }),
  );

  withConfirmation(withWriteOptions(canaries.command('rollback').description('roll the canary back: the flag restored as it was before it').argument('<id>', 'the canary', parseKey))).action(
    action(runtimeOf, async (rt, [id], o) => {
      if (o.dryRun !== true) await confirmDestructive(rt.io, o.yes, `roll back canary ${id}`);
      const canary = await sendCommand(rt, o, { path: `${canaryPath(id!)}/rollback`, body: defined({ reason: o.reason }) }, { verb: CANARY_COMMANDS.rollback, payload: { id } });
      if (canary !== undefined) rt.printer.result(canary, canaryView);
    }),
  );

  return canaries;
}
