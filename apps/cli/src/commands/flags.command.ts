import { Command } from 'commander';
import { usageError } from '../errors/cli-error.js';
import { evaluationView, flagCommandView, flagHistoryView, flagListView, flagView } from '../output/views/flag.view.js';
import { collectAttribute, parseKey, parseKeyList, parseList, parseNonNegativeInt, parseOnOff, parsePercentage, parsePositiveInt, parseTime } from './arguments.js';
import { action, bodyFrom, defined, withBodyOptions, withWriteOptions, writeHeaders, type RuntimeFactory } from './command-kit.js';

const flagPath = (key: string): string => `/feature-flags/${encodeURIComponent(key)}`;

/** `rollgate flags ...`: the gateway's /feature-flags routes. */
export function flagsCommand(runtimeOf: RuntimeFactory): Command {
  const flags = new Command('flags').description('feature flags: list, read, create, the kill switch, rollouts, history, evaluation');

  flags
    .command('list')
    .description('every flag (GET /feature-flags)')
    .option('-e, --environment <env>', 'only flags with this environment', parseKey)
    .option('--tag <tag>', 'only flags with this tag')
    .option('--status <status>', 'active or archived')
    .action(
      action(runtimeOf, async (rt, _args, o) => {
        const body = await rt.http.send({ method: 'GET', path: '/feature-flags', query: { environment: o['environment'], tag: o['tag'], status: o['status'] } });
        rt.printer.result(body, flagListView);
      }),
    );

  flags
    .command('get')
    .description('one flag, now or as it was at a time (GET /feature-flags/{key})')
    .argument('<key>', 'flag key', parseKey)
    .option('--as-of <time>', 'the flag as it was then (ISO-8601)', parseTime)
    .action(
      action(runtimeOf, async (rt, [key], o) => {
        rt.printer.result(await rt.http.send({ method: 'GET', path: flagPath(key!), query: { as_of: o['asOf'] } }), flagView);
      }),
    );

  flags
    .command('as-of')
    .description('the flag as it was at a time: time travel over its event log')
    .argument('<key>', 'flag key', parseKey)
    .argument('<time>', 'ISO-8601, e.g. 2026-12-01T09:30:00Z', parseTime)
    .action(
      action(runtimeOf, async (rt, [key, time]) => {
        rt.printer.result(await rt.http.send({ method: 'GET', path: flagPath(key!), query: { as_of: time } }), flagView);
      }),
    );

  withBodyOptions(
    withWriteOptions(
      flags
        .command('create')
        .description('create a flag in the simple form (or any body with --data / --file) (POST /feature-flags)')
        .argument('<key>', 'flag key', parseKey)
        .option('--name <name>', 'display name (default: the key)')
        .option('--description <text>', 'what it is for')
        .option('--type <type>', 'boolean, percentage, user_list, environment or experiment')
        .option('--strategy <strategy>', 'all_users, percentage, user_list, environment or gradual')
        .option('--percentage <n>', 'rollout percentage, 0-100', parsePercentage)
        .option('--environments <list>', 'enabled in these environments (default: off everywhere)', parseKeyList)
        .option('--users <list>', 'user ids served the flag', parseList)
        .option('--tags <list>', 'tags', parseList)
        .option('--owner <owner>', 'owner'),
    ),
    'flag',
  ).action(
    action(runtimeOf, async (rt, [key], o) => {
      const data = bodyFrom(rt, o);
      const body =
        data === undefined
          ? defined({
              name: key,
              display_name: o['name'],
              description: o['description'],
              flag_type: o['type'],
              rollout_strategy: o['strategy'],
              rollout_percentage: o['percentage'],
              target_environments: o['environments'],
              user_ids: o['users'],
              tags: o['tags'],
              owner: o['owner'],
            })
          : withKey(data, key!);
      const result = await rt.httpWrite({ method: 'POST', path: '/feature-flags', body, headers: writeHeaders(o) }, o);
      if (result !== undefined) rt.printer.result(result, flagCommandView);
    }),
  );

  withWriteOptions(
    flags
      .command('toggle')
      .description('the kill switch: a flag on or off in one environment (PUT /feature-flags/{key}/environments/{env})')
      .argument('<key>', 'flag key', parseKey)
      .argument('<state>', 'on or off', parseOnOff)
      .requiredOption('-e, --environment <env>', 'the environment', parseKey)
      .option('--expected-version <n>', 'only if the flag is at this version (If-Match)', parseNonNegativeInt),
  ).action(
    action(runtimeOf, async (rt, [key, enabled], o) => {
      const call = {
        method: 'PUT' as const,
        path: `${flagPath(key!)}/environments/${encodeURIComponent(o['environment'])}`,
        body: { enabled },
        headers: { ...writeHeaders(o), 'if-match': ifMatch(o['expectedVersion']) },
      };
      const result = await rt.httpWrite(call, o);
      if (result !== undefined) rt.printer.result(result, flagCommandView);
    }),
  );

  withWriteOptions(
    flags
      .command('rollout')
      .description("change a flag's default rollout in one environment (PUT …/environments/{env}/rollout)")
      .argument('<key>', 'flag key', parseKey)
      .requiredOption('-e, --environment <env>', 'the environment', parseKey)
      .option('--percentage <n>', 'percent of users, 0-100', parsePercentage)
      .option('--strategy <strategy>', 'all_users, percentage, user_list, environment or gradual')
      .option('--users <list>', 'user ids (user_list)', parseList)
      .option('--expected-version <n>', 'only if the flag is at this version (If-Match)', parseNonNegativeInt),
  ).action(
    action(runtimeOf, async (rt, [key], o) => {
      const body = defined({ rollout_strategy: o['strategy'], rollout_percentage: o['percentage'], user_ids: o['users'] });
      if (Object.keys(body).length === 0) throw usageError('give --percentage, --strategy or --users');
      const call = {
        method: 'PUT' as const,
        path: `${flagPath(key!)}/environments/${encodeURIComponent(o['environment'])}/rollout`,
        body,
        headers: { ...writeHeaders(o), 'if-match': ifMatch(o['expectedVersion']) },
      };
      const result = await rt.httpWrite(call, o);
      if (result !== undefined) rt.printer.result(result, flagCommandView);
    }),
  );

  flags
    .command('history')
    .description("a flag's events, oldest first (GET /feature-flags/{key}/history)")
    .argument('<key>', 'flag key', parseKey)
    .option('--from-version <n>', 'start at this version', parsePositiveInt)
    .option('--limit <n>', 'at most this many (≤ 500)', parsePositiveInt)
    .action(
      action(runtimeOf, async (rt, [key], o) => {
        const body = await rt.http.send({ method: 'GET', path: `${flagPath(key!)}/history`, query: { from_version: o['fromVersion'], limit: o['limit'] } });
        rt.printer.result(body, flagHistoryView);
      }),
    );

  flags
    .command('evaluate')
    .description('what a user gets (POST /feature-flags/{key}/evaluate)')
    .argument('<key>', 'flag key', parseKey)
    .option('-u, --user <id>', 'the user id')
    .option('-e, --environment <env>', 'the environment (default production)', parseKey)
    .option('--attr <name=value>', 'a context attribute (repeatable)', collectAttribute)
    .option('--as-of <time>', 'evaluate the flag as it was then', parseTime)
    .action(
      action(runtimeOf, async (rt, [key], o) => {
        const body = defined({ environment: o['environment'], user_id: o['user'], context: o['attr'], as_of: o['asOf'] });
        rt.printer.result(await rt.http.send({ method: 'POST', path: `${flagPath(key!)}/evaluate`, body }), evaluationView);
      }),
    );

  return flags;
}

const ifMatch = (version: number | undefined): string | undefined => (version === undefined ? undefined : `"${version}"`);

/** A --data body names its flag: the argument fills in the key where the body has none. */
function withKey(data: Record<string, unknown>, key: string): Record<string, unknown> {
  if (typeof data['flag'] === 'object' && data['flag'] !== null) return { ...data, flag: { key, name: key, ...(data['flag'] as object) } };
  return { name: key, ...data };
}
