import { validateFlag, PPM_MAX, type EnvironmentConfig, type FlagDefinition, type FlagType, type Rollout, type Rule } from '#rollgate/evaluation';
import type { FlagDetails } from '#rollgate/contracts';
import { ValidationError } from '#rollgate/platform';
import { pathToSnakeCase, toCamelCase } from '../http/json-case.js';
import {
  DEFAULT_GRADUAL_HOURS,
  KNOWN_ENVIRONMENTS,
  type CreateFeatureFlagDto,
  type RolloutStrategy,
  type SeedRolloutFields,
  type UpdateFeatureFlagDto,
  type VariantDto,
} from './feature-flag.dto.js';

/**
 * The seed's simple calls → the flag model. Pure: time comes in as `now` (epoch ms).
 */

export type NewFlag = Omit<FlagDefinition, 'version' | 'archived'>;

/** Rule id of the always-on users given with a non-user_list strategy. */
export const TARGET_USERS_RULE_ID = 'target-users';

const HOUR_MS = 3_600_000;

/** A percentage 0..100 (float) → parts per million; 0.0001 % resolution, rounded to the nearest ppm. */
export const percentToPpm = (percent: number): number => Math.min(PPM_MAX, Math.max(0, Math.round(percent * 10_000)));

export const ppmToPercent = (ppm: number): number => ppm / 10_000;

const fieldError = (fields: Record<string, string[]>): ValidationError => {
  const summary = Object.entries(fields)
    .map(([field, messages]) => `${field} ${messages.join('; ')}`)
    .join('; ');
  return new ValidationError(`Validation failed: ${summary}`, { details: { fields } });
};

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
  switch (strategy) {
    case 'all_users':
      return { type: 'all_users' };
    case 'percentage':
      if (fields.rollout_percentage === undefined) {
        throw fieldError({ rollout_percentage: ['is required by the percentage strategy'] });
      }
      return { type: 'percentage', ppm: percentToPpm(fields.rollout_percentage) };
    case 'user_list':
      return { type: 'user_list', users: usersOf(fields) ?? [] };
    case 'environment':
      return { type: 'environment', environments: [...targetEnvironments] };
    case 'gradual': {
      const start = fields.gradual_start === undefined ? now : Date.parse(fields.gradual_start);
      const hours = fields.gradual_duration_hours ?? DEFAULT_GRADUAL_HOURS;
      const rollout: Rollout = {
        type: 'gradual',
        from: 0,
        to: percentToPpm(fields.rollout_percentage ?? 100),
        start,
        end: start + Math.max(1, Math.round(hours * HOUR_MS)),
      };
      return fields.gradual_steps === undefined ? rollout : { ...rollout, steps: fields.gradual_steps };
    }
    default: {
      const unknown: never = strategy;
      throw fieldError({ rollout_strategy: [`unknown strategy ${String(unknown)}`] });
    }
  }
};

const variantsOf = (variants: readonly VariantDto[]) =>
  variants.map((v) => (v.payload === undefined ? { key: v.key, weight: v.weight } : { key: v.key, weight: v.weight, payload: v.payload }));

/** Problems from the model's own validation, as `{ fields }` with snake_case paths. */
export const assertValidFlag = (flag: NewFlag): void => {
  const problems = validateFlag({ ...flag, version: 0 });
  if (problems.length === 0) return;
  const fields: Record<string, string[]> = {};
  for (const { path, message } of problems) (fields[`flag.${pathToSnakeCase(path)}`] ??= []).push(message);
  throw fieldError(fields);
};

const SIMPLE_FIELDS = [
  'name', 'display_name', 'description', 'flag_type', 'target_environments', 'variants', 'tags', 'owner',
  'rollout_strategy', 'rollout_percentage', 'user_ids', 'target_users', 'gradual_duration_hours', 'gradual_steps',
  'gradual_start',
] as const;

/**
 * POST /feature-flags body → the flag to create. Simple form: every known environment (development, staging,
 * production) plus the targeted ones is present; the targeted ones are enabled, the others disabled; all carry
 * the strategy's default rollout, so switching one on later serves the same rollout. Users given with a
 * strategy other than user_list become a first rule that always serves them.
 */
export const flagFromCreate = (dto: CreateFeatureFlagDto, now: number): NewFlag => {
  if (dto.flag !== undefined) {
    const mixed = SIMPLE_FIELDS.filter((field) => dto[field] !== undefined);
    if (mixed.length > 0) {
      throw fieldError(Object.fromEntries(mixed.map((f) => [f, ['must not be sent together with flag']])));
    }
    const flag = toCamelCase<NewFlag & { version?: unknown; archived?: unknown }>(dto.flag);
    const { version: _version, archived: _archived, ...definition } = flag;
    assertValidFlag(definition);
    return definition;
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
  assertValidFlag(flag);
  return flag;
};

/** One bus command of an update, in the order they are sent. */
export type UpdateStep =
  | { verb: 'update-details'; payload: { changes: Partial<FlagDetails> } }
  | { verb: 'change-rollout'; payload: { environment: string; rollout: Rollout } }
  | { verb: 'configure-environment'; payload: { environment: string; config: EnvironmentConfig } }
  | { verb: 'toggle'; payload: { environment: string; enabled: boolean } };

const ROLLOUT_FIELDS = [
  'rollout_strategy', 'rollout_percentage', 'user_ids', 'target_users', 'gradual_duration_hours', 'gradual_steps',
  'gradual_start',
] as const;

export const hasRolloutFields = (fields: SeedRolloutFields): boolean => ROLLOUT_FIELDS.some((f) => fields[f] !== undefined);

/**
 * PUT /feature-flags/{key} → commands, given the flag as it is now:
 * 1. display_name, description, tags, owner, variants → one `update-details`;
 * 2. rollout fields → `change-rollout` of the default rollout in each target environment (target_environments
 *    if given, else every environment enabled now);
 * 3. target_environments → `toggle` on for each targeted environment that is off, off for each other that is
 *    on; a targeted environment the flag lacks is added (`configure-environment`, enabled, with the new rollout
 *    or else the rollout of production / the first environment). Rules and user lists are left alone.
 */
export const stepsFromUpdate = (dto: UpdateFeatureFlagDto, current: FlagDefinition, now: number): UpdateStep[] => {
  const steps: UpdateStep[] = [];
  const changes: Partial<FlagDetails> = {};
  if (dto.display_name !== undefined) changes.name = dto.display_name;
  if (dto.description !== undefined) changes.description = dto.description;
  if (dto.tags !== undefined) changes.tags = dto.tags;
  if (dto.owner !== undefined) changes.owner = dto.owner;
  if (dto.variants !== undefined) changes.variants = variantsOf(dto.variants);
  if (Object.keys(changes).length > 0) steps.push({ verb: 'update-details', payload: { changes } });

  const existing = Object.keys(current.environments);
  const enabledNow = existing.filter((env) => current.environments[env]!.enabled);
  const targets = dto.target_environments;
  let rollout: Rollout | undefined;
  if (hasRolloutFields(dto)) {
    const strategy = strategyOf(dto)!;
    rollout = rolloutOf(strategy, dto, targets ?? enabledNow, now);
    for (const environment of (targets ?? enabledNow).filter((env) => existing.includes(env))) {
      steps.push({ verb: 'change-rollout', payload: { environment, rollout } });
    }
  }
  if (targets !== undefined) {
    const template = current.environments['production'] ?? current.environments[existing[0] ?? ''];
    // An environment-strategy rollout names the environments it is on in: retargeting must rewrite that list too,
    // or the flag is switched on where its own rollout still says off.
    const retargeted: Rollout = { type: 'environment', environments: [...targets] };
    if (rollout === undefined) {
      for (const environment of existing) {
        const existingRollout = current.environments[environment]!.defaultRollout;
        if (existingRollout.type === 'environment' && !sameMembers(existingRollout.environments, targets)) {
          steps.push({ verb: 'change-rollout', payload: { environment, rollout: retargeted } });
        }
      }
    }
    for (const environment of targets) {
      const config = current.environments[environment];
      if (config === undefined) {
        const inherited = template?.defaultRollout.type === 'environment' ? retargeted : template?.defaultRollout;
        const defaultRollout = rollout ?? inherited ?? { type: 'all_users' };
        steps.push({ verb: 'configure-environment', payload: { environment, config: { enabled: true, defaultRollout } } });
      } else if (!config.enabled) {
        steps.push({ verb: 'toggle', payload: { environment, enabled: true } });
      }
    }
    for (const environment of enabledNow.filter((env) => !targets.includes(env))) {
      steps.push({ verb: 'toggle', payload: { environment, enabled: false } });
    }
  }
  if (steps.length === 0 && !hasAnyField(dto)) throw fieldError({ body: ['has nothing to update'] });
  return steps;
};

const sameMembers = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item) => b.includes(item));

const hasAnyField = (dto: UpdateFeatureFlagDto): boolean =>
  Object.entries(dto).some(([field, value]) => field !== 'reason' && value !== undefined);

/** POST/PUT rollout body (simple fields or `rollout` in model form) → the rollout to set. */
export const rolloutFromBody = (
  body: SeedRolloutFields & { rollout?: Record<string, unknown> },
  environment: string,
  now: number,
): Rollout => {
  if (body.rollout !== undefined) {
    if (hasRolloutFields(body)) throw fieldError({ rollout: ['must not be sent together with the rollout_* fields'] });
    return toCamelCase<Rollout>(body.rollout);
  }
  const strategy = strategyOf(body);
  if (strategy === undefined) throw fieldError({ rollout: ['send rollout, or rollout_strategy / rollout_percentage / user_ids'] });
  return rolloutOf(strategy, body, [environment], now);
};
