import { createHash } from 'node:crypto';
import type { EnvironmentConfig, FlagDefinition, FlagType, Rollout, Rule, Segment } from '#rollgate/evaluation';
import {
  rolloutOfStrategy,
  rolloutStrategyProblems,
  type FlagDetails,
  type Problem,
  type RolloutStrategy,
  type RolloutStrategyInput,
  type UpdateFlagPayload,
} from '#rollgate/contracts';
import { ValidationError } from '#rollgate/platform';
import { pathToSnakeCase, toCamelCase } from '../http/json-case.js';
import type { CreateFeatureFlagDto, UpdateFeatureFlagDto } from './feature-flag.dto.js';
import { KNOWN_ENVIRONMENTS, type SeedRolloutFields, type VariantDto } from './seed-rollout.dto.js';

/**
 * The seed's simple calls → the flag model and the bus payloads. Pure: time comes in as `now` (epoch ms). Values
 * are checked once, where the model is: the flags decider (`validateFlag`), and for strategy fields
 * `rolloutStrategyProblems` from the contracts; this file only translates.
 */

export type NewFlag = Omit<FlagDefinition, 'version' | 'archived'>;

/** Rule id of the always-on users given with a non-user_list strategy. */
export const TARGET_USERS_RULE_ID = 'target-users';

export { percentToPpm, ppmToPercent } from '#rollgate/contracts';

const invalid = (problems: Problem[]): ValidationError => ValidationError.of(problems);

const STRATEGY_BY_TYPE: Partial<Record<FlagType, RolloutStrategy>> = {
  percentage: 'percentage',
  user_list: 'user_list',
  environment: 'environment',
};

export const usersOf = (fields: SeedRolloutFields): string[] | undefined =>
  fields.user_ids === undefined && fields.target_users === undefined
    ? undefined
    : [...new Set([...(fields.user_ids ?? []), ...(fields.target_users ?? [])])];

/** The strategy named, else inferred from the fields given (percentage → percentage, users → user_list). */
export const strategyOf = (fields: SeedRolloutFields, flagType?: FlagType): RolloutStrategy | undefined => {
  if (fields.rollout_strategy !== undefined) return fields.rollout_strategy;
  if (flagType !== undefined && STRATEGY_BY_TYPE[flagType] !== undefined) return STRATEGY_BY_TYPE[flagType];
  if (fields.rollout_percentage !== undefined) return 'percentage';
  if (usersOf(fields) !== undefined) return 'user_list';
  if (fields.gradual_duration_hours !== undefined || fields.gradual_steps !== undefined) return 'gradual';
  return undefined;
};

/** The seed's snake_case rollout fields as the contracts' strategy input. */
export const strategyInputOf = (strategy: RolloutStrategy, fields: SeedRolloutFields): RolloutStrategyInput => {
  const input: RolloutStrategyInput = { strategy };
  const users = usersOf(fields);
  if (fields.rollout_percentage !== undefined) input.percentage = fields.rollout_percentage;
  if (users !== undefined && strategy === 'user_list') input.users = users;
  if (fields.gradual_duration_hours !== undefined) input.gradualDurationHours = fields.gradual_duration_hours;
  if (fields.gradual_steps !== undefined) input.gradualSteps = fields.gradual_steps;
  if (fields.gradual_start !== undefined) input.gradualStart = fields.gradual_start;
  return input;
};

/** Strategy input field → the seed's field name, for problems found in it. */
const SEED_FIELD: Readonly<Record<string, string>> = {
  strategy: 'rollout_strategy',
  percentage: 'rollout_percentage',
  users: 'user_ids',
  gradualDurationHours: 'gradual_duration_hours',
  gradualSteps: 'gradual_steps',
  gradualStart: 'gradual_start',
};
const seedFieldOf = (path: string): string => SEED_FIELD[path.split(/[.[]/)[0]!] ?? pathToSnakeCase(path);

/**
 * The default rollout a strategy stands for. `environment` needs the target environments; `gradual` ramps
 * from 0 to `rollout_percentage` (or 100) starting at `gradual_start` (or now).
 */
export const rolloutOf = (
  strategy: RolloutStrategy,
  fields: SeedRolloutFields,
  targetEnvironments: readonly string[],
  now: number,
): Rollout => {
  const input = strategyInputOf(strategy, fields);
  const problems = rolloutStrategyProblems(input);
  if (problems.length > 0) throw invalid(problems.map(({ path, message }) => ({ path: seedFieldOf(path), message })));
  return rolloutOfStrategy(input, targetEnvironments, now);
};

const variantsOf = (variants: readonly VariantDto[]) =>
  variants.map((v) => (v.payload === undefined ? { key: v.key, weight: v.weight } : { key: v.key, weight: v.weight, payload: v.payload }));

const SIMPLE_FIELDS = [
  'name', 'display_name', 'description', 'flag_type', 'target_environments', 'variants', 'tags', 'owner', 'metadata',
  'rollout_strategy', 'rollout_percentage', 'user_ids', 'target_users', 'gradual_duration_hours', 'gradual_steps',
  'gradual_start',
] as const;

/**
 * POST /feature-flags body → the flag to create. Simple form: every known environment (development, staging,
 * production) plus the targeted ones is present; the targeted ones are enabled, the others disabled; all carry
 * the strategy's default rollout, so switching one on later serves the same rollout. The flags decider validates it. Users given with a
 * strategy other than user_list become a first rule that always serves them.
 */
export const flagFromCreate = (dto: CreateFeatureFlagDto, now: number): NewFlag => {
  if (dto.flag !== undefined) {
    const mixed = SIMPLE_FIELDS.filter((field) => dto[field] !== undefined);
    if (mixed.length > 0) {
      throw invalid(mixed.map((path) => ({ path, message: 'must not be sent together with flag' })));
    }
    // Metadata keys are the user's names (like `environments` keys): kept as sent.
    const { metadata, ...model } = dto.flag;
    const flag = toCamelCase<NewFlag & { version?: unknown; archived?: unknown }>(model);
    const { version: _version, archived: _archived, ...definition } = flag;
    return metadata === undefined ? definition : { ...definition, metadata: metadata as NewFlag['metadata'] };
  }
  const key = dto.name!;
  const type = dto.flag_type ?? 'boolean';
  const targets = dto.target_environments ?? [];
  const strategy = strategyOf(dto, type) ?? 'all_users';
  const defaultRollout = rolloutOf(strategy, dto, targets, now);
  const users = usersOf(dto);
  const rules: Rule[] =
    strategy !== 'user_list' && users !== undefined && users.length > 0
      ? [{ id: TARGET_USERS_RULE_ID, description: 'Users always served', rollout: { type: 'user_list', users } }]
      : [];
  const environments: Record<string, EnvironmentConfig> = {};
  for (const environment of new Set([...KNOWN_ENVIRONMENTS, ...targets])) {
    environments[environment] = {
      enabled: targets.includes(environment),
      defaultRollout,
      ...(rules.length > 0 ? { rules } : {}),
    };
  }
  const flag: NewFlag = { key, name: dto.display_name ?? key, type, environments };
  if (dto.description !== undefined) flag.description = dto.description;
  if (dto.tags !== undefined) flag.tags = dto.tags;
  if (dto.owner !== undefined) flag.owner = dto.owner;
  if (dto.variants !== undefined) flag.variants = variantsOf(dto.variants);
  if (dto.metadata !== undefined) flag.metadata = dto.metadata;
  return flag;
};

/** The most user ids a simple create keeps in the flag itself; a longer list becomes a member list segment. */
export const INLINE_USERS_MAX = 1_000;

/** The member list segment holding a flag's user ids: `<key>-users` (shortened with a hash for long keys). */
export const listSegmentKeyOf = (flagKey: string): string => {
  const key = `${flagKey}-users`;
  if (key.length <= 100) return key;
  return `${flagKey.slice(0, 85)}-${createHash('sha256').update(flagKey).digest('hex').slice(0, 8)}-users`;
};

/** What a simple create becomes: the flag, and the member list segment its user ids go to when they are many. */
export interface CreatePlan {
  flag: NewFlag;
  list?: { segment: Omit<Segment, 'version' | 'members'>; members: string[] };
}

/**
 * POST /feature-flags body → the flag and, for more than INLINE_USERS_MAX user ids, a member list segment: the simple
 * form copies its rollout into every environment, so an inline list of 31 000 ids would be stored three times in
 * one event. Instead the list is stored once, as the segment `<key>-users` (its members travel in chunk events),
 * and every environment serves it through the first rule `target-users`; a user_list strategy's default rollout
 * then serves nobody else. Evaluation is the same: members on (TARGETING_MATCH), everyone else off.
 */
export const planCreate = (dto: CreateFeatureFlagDto, now: number): CreatePlan => {
  const flag = flagFromCreate(dto, now);
  const users = dto.flag === undefined ? usersOf(dto) : undefined;
  if (users === undefined || users.length <= INLINE_USERS_MAX) return { flag };
  const key = listSegmentKeyOf(flag.key);
  const rule: Rule = { id: TARGET_USERS_RULE_ID, description: 'Users always served', segments: [key] };
  for (const config of Object.values(flag.environments)) {
    if (config.defaultRollout.type === 'user_list') config.defaultRollout = { type: 'none' };
    config.rules = [rule];
  }
  return {
    flag,
    list: {
      segment: { key, name: `Users of ${flag.key}`, description: `The user ids of feature flag ${flag.key}`, conditions: [], memberAttribute: 'userId' },
      members: users,
    },
  };
};

const ROLLOUT_FIELDS = [
  'rollout_strategy', 'rollout_percentage', 'user_ids', 'target_users', 'gradual_duration_hours', 'gradual_steps',
  'gradual_start',
] as const;

export const hasRolloutFields = (fields: SeedRolloutFields): boolean => ROLLOUT_FIELDS.some((f) => fields[f] !== undefined);

export type UpdateChanges = Omit<UpdateFlagPayload, 'key' | 'expectedVersion'>;

/**
 * PUT /feature-flags/{key} → the one `update` command's changes (the flags decider plans them against the flag):
 * display_name, description, tags, owner, variants → `details`; the rollout fields → `rollout` (the strategy
 * named or inferred); target_environments as given. An empty body is the decider's to refuse.
 */
export const updateFromBody = (dto: UpdateFeatureFlagDto): UpdateChanges => {
  const changes: UpdateChanges = {};
  const details: Partial<FlagDetails> = {};
  if (dto.display_name !== undefined) details.name = dto.display_name;
  if (dto.description !== undefined) details.description = dto.description;
  if (dto.tags !== undefined) details.tags = dto.tags;
  if (dto.owner !== undefined) details.owner = dto.owner;
  if (dto.variants !== undefined) details.variants = variantsOf(dto.variants);
  if (dto.metadata !== undefined) details.metadata = dto.metadata;
  if (Object.keys(details).length > 0) changes.details = details;
  if (hasRolloutFields(dto)) changes.rollout = strategyInputOf(strategyOf(dto)!, dto);
  if (dto.target_environments !== undefined) changes.targetEnvironments = dto.target_environments;
  return changes;
};

/**
 * A problem path of the `update` payload → the PUT body's field: `details.name` → `display_name`,
 * `details.variants[0].weight` → `variants[0].weight`, `rollout.percentage` → `rollout_percentage`,
 * `targetEnvironments[1]` → `target_environments[1]`; model paths (`environments.eu_west.defaultRollout`) in
 * snake_case.
 */
export const updatePathToHttp = (path: string): string => {
  if (path === 'details.name') return 'display_name';
  if (path.startsWith('details.')) return pathToSnakeCase(path.slice('details.'.length));
  if (path.startsWith('rollout.')) return seedFieldOf(path.slice('rollout.'.length));
  return pathToSnakeCase(path);
};

/** POST/PUT rollout body (simple fields or `rollout` in model form) → the rollout to set. */
export const rolloutFromBody = (
  body: SeedRolloutFields & { rollout?: Record<string, unknown> },
  environment: string,
  now: number,
): Rollout => {
  if (body.rollout !== undefined) {
    if (hasRolloutFields(body)) throw invalid([{ path: 'rollout', message: 'must not be sent together with the rollout_* fields' }]);
    return toCamelCase<Rollout>(body.rollout);
  }
  const strategy = strategyOf(body);
  if (strategy === undefined) throw invalid([{ path: 'rollout', message: 'send rollout, or rollout_strategy / rollout_percentage / user_ids' }]);
  return rolloutOf(strategy, body, [environment], now);
};
