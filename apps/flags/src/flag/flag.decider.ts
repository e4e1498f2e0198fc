import { isDeepStrictEqual } from 'node:util';
import {
  evolveFlag,
  MAX_DEFINITION_BYTES,
  rolloutOfStrategy,
  rolloutStrategyProblems,
  type ArchiveFlagPayload,
  type ChangeRolloutPayload,
  type ChangeUserListPayload,
  type ConfigureEnvironmentPayload,
  type CreateFlagPayload,
  type FlagEvent,
  type FlagState,
  type RemoveEnvironmentPayload,
  type RevertFlagPayload,
  type SetRulesPayload,
  type ToggleFlagPayload,
  type UnarchiveFlagPayload,
  type UpdateFlagDetailsPayload,
  type UpdateFlagPayload,
} from '#rollgate/contracts';
import { validateFlag, type FlagDefinition, type Rollout, type Segment, type ValidationProblem } from '#rollgate/evaluation';
import { FlagError, FlagErrorCodes } from './flag.errors.js';
import {
  detailsShapeProblems,
  environmentShapeProblems,
  flagShapeProblems,
  rolloutShapeProblems,
  rulesShapeProblems,
} from './flag.shape.js';

/** Commands on one `flag-<key>` stream. `RevertFlag` carries the past state the service loaded for it. */
export type FlagCommand =
  | { type: 'CreateFlag'; data: CreateFlagPayload }
  | { type: 'UpdateFlag'; data: UpdateFlagPayload }
  | { type: 'UpdateFlagDetails'; data: UpdateFlagDetailsPayload }
  | { type: 'ArchiveFlag'; data: ArchiveFlagPayload }
  | { type: 'UnarchiveFlag'; data: UnarchiveFlagPayload }
  | { type: 'ToggleFlag'; data: ToggleFlagPayload }
  | { type: 'ConfigureEnvironment'; data: ConfigureEnvironmentPayload }
  | { type: 'RemoveEnvironment'; data: RemoveEnvironmentPayload }
  | { type: 'ChangeRollout'; data: ChangeRolloutPayload }
  | { type: 'SetRules'; data: SetRulesPayload }
  | { type: 'ChangeUserList'; data: ChangeUserListPayload }
  | { type: 'RevertFlag'; data: RevertFlagPayload; target: FlagState };

export type FlagCommandType = FlagCommand['type'];

export interface FlagDecisionContext {
  /**
   * Segments the new definition may reference (the service loads those the command and the flag name). When
   * given, a rule naming a segment outside this map is a validation problem.
   */
  segments?: ReadonlyMap<string, Segment>;
}

/** The stream key a command targets. */
export const commandKey = (command: FlagCommand): string =>
  command.type === 'CreateFlag' ? String(command.data.flag?.key) : command.data.key;

const fold = (state: FlagState, events: readonly FlagEvent[]): FlagState =>
  events.reduce<FlagState>((current, event, i) => evolveFlag(current, event, (state?.version ?? 0) + i + 1), state);

/** A definition without its version, compared to detect commands that would change nothing. */
const comparable = (flag: FlagState): unknown => {
  if (flag === null) return null;
  const { version: _version, ...rest } = flag;
  return JSON.parse(JSON.stringify(rest)) as unknown;
};

/** Problems found inside one field of the payload, with paths relative to the payload. */
const under = (field: string, problems: readonly ValidationProblem[]): ValidationProblem[] =>
  problems.map(({ path, message }) => ({ path: path === '' || path === '$' ? field : `${field}.${path}`, message }));

function assertNoProblems(message: string, problems: readonly ValidationProblem[]): void {
  if (problems.length > 0) throw FlagError.invalid(message, problems);
}

function requireFlag(state: FlagState, key: string, allowArchived = false): FlagDefinition {
  if (state === null) throw FlagError.notFound(key);
  if (state.archived === true && !allowArchived) {
    throw new FlagError(FlagErrorCodes.archived, `flag ${key} is archived: unarchive it first`, { key });
  }
  return state;
}

function requireEnvironment(flag: FlagDefinition, environment: string): void {
  if (flag.environments[environment] === undefined) {
    throw new FlagError(FlagErrorCodes.environmentNotFound, `flag ${flag.key} has no environment ${environment}`, {
      key: flag.key,
      environment,
    });
  }
}

function requireRule(flag: FlagDefinition, environment: string, ruleId: string): void {
  requireEnvironment(flag, environment);
  if (!flag.environments[environment]!.rules?.some((rule) => rule.id === ruleId)) {
    throw new FlagError(FlagErrorCodes.ruleNotFound, `flag ${flag.key} has no rule ${ruleId} in ${environment}`, {
      key: flag.key,
      environment,
      ruleId,
    });
  }
}

function targetRollout(flag: FlagDefinition, environment: string, ruleId: string | undefined): Rollout | undefined {
  const config = flag.environments[environment]!;
  return ruleId === undefined ? config.defaultRollout : config.rules?.find((rule) => rule.id === ruleId)?.rollout;
}

const withoutVersion = (flag: FlagDefinition): Omit<FlagDefinition, 'version'> => {
  const { version: _version, ...rest } = flag;
  return rest;
};

const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(JSON.parse(JSON.stringify(a ?? null)), JSON.parse(JSON.stringify(b ?? null)));

/**
 * The events of an `update`, planned against the flag as it is (see UpdateFlagPayload): details first, then the
 * default rollout of each target environment, then the targeting. Changes that would not change anything are
 * left out, so a batch holds only events that explain themselves.
 */
function updateEvents(flag: FlagDefinition, data: UpdateFlagPayload, now: Date): FlagEvent[] {
  const events: FlagEvent[] = [];
  const changes = Object.fromEntries(
    Object.entries(data.details ?? {}).filter(([field, value]) => !same(value, (flag as unknown as Record<string, unknown>)[field])),
  );
  if (Object.keys(changes).length > 0) events.push({ type: 'FlagDetailsChanged', data: { changes } });

  const existing = Object.keys(flag.environments);
  const enabledNow = existing.filter((env) => flag.environments[env]!.enabled);
  const targets = data.targetEnvironments;
  let rollout: Rollout | undefined;
  if (data.rollout !== undefined) {
    rollout = rolloutOfStrategy(data.rollout, targets ?? enabledNow, now.getTime());
    for (const environment of (targets ?? enabledNow).filter((env) => existing.includes(env))) {
      if (!same(flag.environments[environment]!.defaultRollout, rollout)) events.push({ type: 'RolloutChanged', data: { environment, rollout } });
    }
  }
  if (targets !== undefined) {
    const template = flag.environments['production'] ?? flag.environments[existing[0] ?? ''];
    // An environment-strategy rollout names the environments it is on in: retargeting rewrites that list too, or
    // the flag would be switched on where its own rollout still says off.
    const retargeted: Rollout = { type: 'environment', environments: [...targets] };
    if (rollout === undefined) {
      for (const environment of existing) {
        const current = flag.environments[environment]!.defaultRollout;
        if (current.type === 'environment' && !sameMembers(current.environments, targets)) {
          events.push({ type: 'RolloutChanged', data: { environment, rollout: retargeted } });
        }
      }
    }
    for (const environment of targets) {
      const config = flag.environments[environment];
      if (config === undefined) {
        const inherited = template?.defaultRollout.type === 'environment' ? retargeted : template?.defaultRollout;
        const defaultRollout = rollout ?? inherited ?? { type: 'all_users' };
        events.push({ type: 'EnvironmentConfigured', data: { environment, config: { enabled: true, defaultRollout } } });
      } else if (!config.enabled) {
        events.push({ type: 'FlagToggled', data: { environment, enabled: true } });
      }
    }
    for (const environment of enabledNow.filter((env) => !targets.includes(env))) {
      events.push({ type: 'FlagToggled', data: { environment, enabled: false } });
    }
  }
  return events;
}

const sameMembers = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item) => b.includes(item));

/** The events a command produces, before the common checks on their result. */
function eventsFor(command: FlagCommand, state: FlagState, now: Date): FlagEvent[] {
  switch (command.type) {
    case 'CreateFlag': {
      const flag = command.data.flag;
      if (state !== null) {
        throw new FlagError(FlagErrorCodes.alreadyExists, `flag ${flag.key} already exists`, { key: flag.key });
      }
      const problems = flagShapeProblems(flag);
      for (const field of ['version', 'archived'] as const) {
        if (typeof flag === 'object' && flag !== null && field in flag) problems.push({ path: field, message: 'is set by the service' });
      }
      assertNoProblems('invalid flag definition', under('flag', problems));
      return [{ type: 'FlagCreated', data: { flag } }];
    }
    case 'UpdateFlag': {
      const { details, rollout, targetEnvironments } = command.data;
      if (details === undefined && rollout === undefined && targetEnvironments === undefined) {
        throw FlagError.invalid('nothing to update', [{ path: '', message: 'send details, rollout or targetEnvironments' }]);
      }
      const flag = requireFlag(state, command.data.key);
      assertNoProblems('invalid update', [
        ...(details === undefined ? [] : under('details', detailsShapeProblems(details))),
        ...(rollout === undefined ? [] : under('rollout', rolloutStrategyProblems(rollout))),
      ]);
      return updateEvents(flag, command.data, now);
    }
    case 'UpdateFlagDetails': {
      requireFlag(state, command.data.key);
      assertNoProblems('invalid flag details', detailsShapeProblems(command.data.changes));
      return [{ type: 'FlagDetailsChanged', data: { changes: command.data.changes } }];
    }
    case 'ArchiveFlag': {
      const flag = requireFlag(state, command.data.key, true);
      return flag.archived === true ? [] : [{ type: 'FlagArchived', data: {} }];
    }
    case 'UnarchiveFlag': {
      const flag = requireFlag(state, command.data.key, true);
      return flag.archived === true ? [{ type: 'FlagUnarchived', data: {} }] : [];
    }
    case 'ToggleFlag': {
      const flag = requireFlag(state, command.data.key);
      // Toggling an environment the flag was never configured for would switch on an implicit all-users
      // rollout; configure it first.
      requireEnvironment(flag, command.data.environment);
      return [{ type: 'FlagToggled', data: { environment: command.data.environment, enabled: command.data.enabled } }];
    }
    case 'ConfigureEnvironment': {
      requireFlag(state, command.data.key);
      assertNoProblems(
        'invalid environment configuration',
        environmentShapeProblems(command.data.config, `environments.${command.data.environment}`),
      );
      return [{ type: 'EnvironmentConfigured', data: { environment: command.data.environment, config: command.data.config } }];
    }
    case 'RemoveEnvironment': {
      const flag = requireFlag(state, command.data.key);
      requireEnvironment(flag, command.data.environment);
      return [{ type: 'EnvironmentRemoved', data: { environment: command.data.environment } }];
    }
    case 'ChangeRollout': {
      const flag = requireFlag(state, command.data.key);
      const { environment, rollout, ruleId } = command.data;
      if (ruleId !== undefined) requireRule(flag, environment, ruleId);
      const path = ruleId === undefined ? `environments.${environment}.defaultRollout` : `environments.${environment}.rules[${ruleId}].rollout`;
      assertNoProblems('invalid rollout', rolloutShapeProblems(rollout, path));
      return [{ type: 'RolloutChanged', data: ruleId === undefined ? { environment, rollout } : { environment, rollout, ruleId } }];
    }
    case 'SetRules': {
      requireFlag(state, command.data.key);
      const { environment, rules } = command.data;
      assertNoProblems('invalid rules', rulesShapeProblems(rules, `environments.${environment}.rules`));
      return [{ type: 'RulesChanged', data: { environment, rules } }];
    }
    case 'ChangeUserList': {
      const flag = requireFlag(state, command.data.key);
      const { environment, ruleId, add, remove } = command.data;
      if (ruleId === undefined) requireEnvironment(flag, environment);
      else requireRule(flag, environment, ruleId);
      const rollout = targetRollout(flag, environment, ruleId);
      if (rollout?.type !== 'user_list') {
        throw FlagError.invalid('the targeted rollout is not a user list', [
          {
            path: ruleId === undefined ? `environments.${environment}.defaultRollout.type` : `environments.${environment}.rules[${ruleId}].rollout.type`,
            message: `is ${rollout?.type ?? 'absent (all users)'}, expected user_list`,
          },
        ]);
      }
      const present = new Set(rollout.users);
      const removeSet = new Set(remove);
      const added = [...new Set(add)].filter((user) => !present.has(user) || removeSet.has(user));
      const removed = [...removeSet].filter((user) => present.has(user));
      if (added.length === 0 && removed.length === 0) return [];
      return [{ type: 'UserListChanged', data: ruleId === undefined ? { environment, added, removed } : { environment, ruleId, added, removed } }];
    }
    case 'RevertFlag': {
      requireFlag(state, command.data.key);
      const target = command.target;
      if (target === null) {
        const at = command.data.toVersion !== undefined ? `version ${command.data.toVersion}` : `time ${command.data.asOf}`;
        throw new FlagError(FlagErrorCodes.revertTargetNotFound, `flag ${command.data.key} did not exist at ${at}`, {
          key: command.data.key,
          toVersion: command.data.toVersion,
          asOf: command.data.asOf,
        });
      }
      const data = command.data.asOf === undefined
        ? { flag: withoutVersion(target), toVersion: target.version }
        : { flag: withoutVersion(target), toVersion: target.version, asOf: command.data.asOf };
      return [{ type: 'FlagReverted', data }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Decides a flag command against the current state. Pure: time comes in as `now` (the start of a gradual ramp an
 * update asks for without one) and the past state of a revert comes in the command.
 *
 * Every command is checked the same way: the new events are folded with the shared `evolveFlag` and the result
 * must pass the model's `validateFlag`. A command whose result equals the current definition returns no
 * events (a no-op: the service appends nothing and replies the current version).
 */
export function decideFlag(
  command: FlagCommand,
  state: FlagState,
  now: Date,
  context: FlagDecisionContext = {},
): FlagEvent[] {
  const events = eventsFor(command, state, now);
  if (events.length === 0) return events;
  const next = fold(state, events);
  if (command.type !== 'CreateFlag' && isDeepStrictEqual(comparable(next), comparable(state))) return [];
  assertSmallDefinition(next);
  const problems = validateFlag(next, context.segments);
  // A created flag is the payload's `flag`; any other command's problems are named where they are in the flag.
  if (problems.length > 0) {
    throw FlagError.invalid(`flag ${commandKey(command)} would be invalid`, command.type === 'CreateFlag' ? under('flag', problems) : problems);
  }
  return events;
}

/** A flag stays small enough to travel whole (events, replies, snapshot pages); long user lists go to segments. */
function assertSmallDefinition(flag: FlagState): void {
  if (flag === null) return;
  const bytes = Buffer.byteLength(JSON.stringify(flag));
  if (bytes > MAX_DEFINITION_BYTES) {
    throw new FlagError(
      FlagErrorCodes.definitionTooLarge,
      `flag ${flag.key} would be ${bytes} bytes, over the ${MAX_DEFINITION_BYTES}-byte limit: keep long user lists in a member list segment`,
      { key: flag.key, bytes, maxBytes: MAX_DEFINITION_BYTES },
    );
  }
}

/** Folds decided events onto a state: what the flag becomes if they are appended. */
export const applyFlagEvents = fold;
