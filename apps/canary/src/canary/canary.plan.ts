import {
  CRITERIA_KEYS,
  LATENCY_BUCKETS_MS,
  MAX_CANARY_PERCENTAGE,
  MIN_CANARY_PERCENTAGE,
  type CanaryCriteria,
  type CanaryDefinition,
  type CanaryStage,
  type CohortSelector,
  type CreateCanaryPayload,
  type FlagDefinition,
  type JudgeConfig,
  type Problem,
} from '#rollgate/contracts';
import { CanaryError, CanaryErrorCodes } from './canary.errors.js';

/** Defaults of a canary (documented in apps/canary/README.md). */
export const CANARY_DEFAULTS = {
  environment: 'production',
  targetPercentage: 10,
  monitoringDurationHours: 24,
  alpha: 0.01,
  safeAlpha: 0.05,
  tolerance: 2,
  minRequests: 100,
  /** A gradual canary without stages ramps through these (up to its target percentage). */
  gradualPercentages: [5, 10, 25, 50],
} as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isRate = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 && value < 1;
const isPercentage = (value: unknown): value is number =>
  typeof value === 'number' &&
  Number.isFinite(value) &&
  value >= MIN_CANARY_PERCENTAGE &&
  value <= MAX_CANARY_PERCENTAGE;
const MAX_RESPONSE_MS = LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;

/** The seed's criteria object: known keys, rates in (0, 1), a response time the histogram can judge. */
function criteriaOf(raw: unknown, path: string, problems: Problem[]): CanaryCriteria {
  if (raw === undefined) return {};
  if (!isRecord(raw)) {
    problems.push({ path, message: 'must be an object' });
    return {};
  }
  const criteria: CanaryCriteria = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(CRITERIA_KEYS as readonly string[]).includes(key)) {
      problems.push({ path: `${path}.${key}`, message: `is not a criterion (known: ${CRITERIA_KEYS.join(', ')})` });
    } else if (key === 'maxResponseTimeMs') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_RESPONSE_MS) {
        problems.push({ path: `${path}.${key}`, message: `must be an integer in 1..${MAX_RESPONSE_MS} (ms)` });
      } else criteria.maxResponseTimeMs = value;
    } else if (!isRate(value)) {
      problems.push({ path: `${path}.${key}`, message: 'must be a fraction strictly between 0 and 1' });
    } else criteria[key as 'minSuccessRate' | 'maxErrorRate'] = value;
  }
  return criteria;
}

/** The error rate a criteria object bounds: max_error_rate and 1 − min_success_rate say the same thing. */
const errorBound = (criteria: CanaryCriteria): number | undefined => {
  const bounds = [
    criteria.maxErrorRate,
    criteria.minSuccessRate === undefined ? undefined : 1 - criteria.minSuccessRate,
  ].filter((b): b is number => b !== undefined);
  return bounds.length === 0 ? undefined : Math.min(...bounds);
};

/** Rollback criteria must be looser than success criteria: a canary cannot have to be rolled back to succeed. */
function crossCheck(success: CanaryCriteria, rollback: CanaryCriteria, problems: Problem[]): void {
  const successBound = errorBound(success);
  const rollbackBound = errorBound(rollback);
  if (successBound !== undefined && rollbackBound !== undefined && rollbackBound < successBound) {
    problems.push({
      path: 'rollbackCriteria',
      message: `allows an error rate of ${rollbackBound}, below the success criteria's ${successBound}: no canary could pass`,
    });
  }
  if (
    success.maxResponseTimeMs !== undefined &&
    rollback.maxResponseTimeMs !== undefined &&
    rollback.maxResponseTimeMs < success.maxResponseTimeMs
  ) {
    problems.push({
      path: 'rollbackCriteria.maxResponseTimeMs',
      message: 'must not be below successCriteria.maxResponseTimeMs',
    });
  }
}

function stagesOf(payload: CreateCanaryPayload, monitoringMinutes: number, problems: Problem[]): CanaryStage[] {
  const single = (percentage?: number): CanaryStage[] => {
    const minDurationMinutes = payload.minDurationMinutes ?? monitoringMinutes;
    if (minDurationMinutes > monitoringMinutes)
      problems.push({ path: 'minDurationMinutes', message: 'must not exceed the monitoring duration' });
    return [{ ...(percentage === undefined ? {} : { percentage }), minDurationMinutes }];
  };
  if (payload.strategy !== 'gradual') {
    if (payload.stages !== undefined) problems.push({ path: 'stages', message: 'are for gradual canaries only' });
    if (payload.strategy === 'percentage' || payload.strategy === 'ab_test') {
      const percentage = payload.targetPercentage ?? CANARY_DEFAULTS.targetPercentage;
      if (!isPercentage(percentage))
        problems.push({
          path: 'targetPercentage',
          message: `must be between ${MIN_CANARY_PERCENTAGE} and ${MAX_CANARY_PERCENTAGE}`,
        });
      return single(percentage);
    }
    if (payload.targetPercentage !== undefined)
      problems.push({ path: 'targetPercentage', message: `does not apply to a ${payload.strategy} canary` });
    return single();
  }
  if (payload.minDurationMinutes !== undefined)
    problems.push({
      path: 'minDurationMinutes',
      message: 'gradual canaries give each stage its own minDurationMinutes',
    });
  let stages: CanaryStage[];
  if (payload.stages === undefined) {
    const target = payload.targetPercentage ?? MAX_CANARY_PERCENTAGE;
    if (!isPercentage(target)) {
      problems.push({
        path: 'targetPercentage',
        message: `must be between ${MIN_CANARY_PERCENTAGE} and ${MAX_CANARY_PERCENTAGE}`,
      });
      return [];
    }
    const percentages = [...CANARY_DEFAULTS.gradualPercentages.filter((p) => p < target), target];
    stages = percentages.map((percentage) => ({
      percentage,
      minDurationMinutes: monitoringMinutes / percentages.length,
    }));
  } else {
    if (payload.targetPercentage !== undefined)
      problems.push({ path: 'targetPercentage', message: 'is the last stage of a gradual canary with stages' });
    stages = [];
    payload.stages.forEach((raw, i) => {
      const at = `stages[${i}]`;
      if (!isRecord(raw)) {
        problems.push({ path: at, message: 'must be an object { percentage, minDurationMinutes }' });
        return;
      }
      for (const key of Object.keys(raw)) {
        if (key !== 'percentage' && key !== 'minDurationMinutes')
          problems.push({ path: `${at}.${key}`, message: 'is not a stage field' });
      }
      const { percentage, minDurationMinutes } = raw;
      if (!isPercentage(percentage))
        problems.push({
          path: `${at}.percentage`,
          message: `must be between ${MIN_CANARY_PERCENTAGE} and ${MAX_CANARY_PERCENTAGE}`,
        });
      if (typeof minDurationMinutes !== 'number' || !Number.isFinite(minDurationMinutes) || minDurationMinutes < 0) {
        problems.push({ path: `${at}.minDurationMinutes`, message: 'must be a number of minutes ≥ 0' });
      }
      stages.push({ percentage: percentage as number, minDurationMinutes: minDurationMinutes as number });
    });
    if (stages.length === 0) problems.push({ path: 'stages', message: 'must hold at least one stage' });
    for (let i = 1; i < stages.length; i++) {
      if (!(stages[i]!.percentage! > stages[i - 1]!.percentage!))
        problems.push({ path: `stages[${i}].percentage`, message: 'must exceed the previous stage' });
    }
  }
  const total = stages.reduce(
    (sum, stage) => sum + (Number.isFinite(stage.minDurationMinutes) ? stage.minDurationMinutes : 0),
    0,
  );
  if (total > monitoringMinutes + 1e-9)
    problems.push({
      path: 'stages',
      message: `take ${total} minutes, more than the monitoring duration (${monitoringMinutes})`,
    });
  return stages;
}

function cohortsOf(
  payload: CreateCanaryPayload,
  flag: FlagDefinition,
  environments: string[],
  problems: Problem[],
): CohortSelector {
  const variants = flag.variants?.map((v) => v.key) ?? [];
  if (payload.strategy !== 'ab_test') {
    if (flag.type === 'experiment')
      problems.push({
        path: 'strategy',
        message: `flag ${flag.key} is an experiment: use ab_test to compare its variants`,
      });
    for (const field of ['canaryVariant', 'baselineVariant'] as const) {
      if (payload[field] !== undefined) problems.push({ path: field, message: 'is for ab_test canaries only' });
    }
    return {
      canaryVariant: 'on',
      baselineVariant: 'off',
      canaryEnvironments: environments,
      baselineEnvironments: payload.strategy === 'environment' ? '*' : environments,
    };
  }
  if (flag.type !== 'experiment' || variants.length < 2) {
    problems.push({
      path: 'strategy',
      message: `ab_test compares two variants of an experiment flag; ${flag.key} is a ${flag.type} flag`,
    });
    return {
      canaryVariant: 'on',
      baselineVariant: 'off',
      canaryEnvironments: environments,
      baselineEnvironments: environments,
    };
  }
  const baselineVariant = payload.baselineVariant ?? flag.offVariant ?? variants[0]!;
  const canaryVariant = payload.canaryVariant ?? variants.find((v) => v !== baselineVariant)!;
  for (const [field, variant] of [
    ['baselineVariant', baselineVariant],
    ['canaryVariant', canaryVariant],
  ] as const) {
    if (!variants.includes(variant))
      problems.push({ path: field, message: `${variant} is not a variant of ${flag.key} (${variants.join(', ')})` });
  }
  if (baselineVariant === canaryVariant)
    problems.push({ path: 'canaryVariant', message: 'must differ from baselineVariant' });
  return { canaryVariant, baselineVariant, canaryEnvironments: environments, baselineEnvironments: environments };
}

/**
 * A create request planned against the flag as it is now, pure: the strategy's stages, the environments it will
 * change, the cohorts the judge compares, the judge's levels from the criteria, the policy. Every problem is
 * reported at once, with the request's field names (camelCase here; the gateway renames them for HTTP).
 */
export function planCanary(payload: CreateCanaryPayload, id: string, flag: FlagDefinition | null): CanaryDefinition {
  if (flag === null)
    throw new CanaryError(CanaryErrorCodes.flagNotFound, `flag ${payload.flagKey} does not exist`, {
      flagKey: payload.flagKey,
    });
  if (flag.archived === true) {
    throw new CanaryError(CanaryErrorCodes.flagArchived, `flag ${payload.flagKey} is archived: unarchive it first`, {
      flagKey: payload.flagKey,
    });
  }
  const problems: Problem[] = [];
  const environment = payload.environment ?? CANARY_DEFAULTS.environment;
  const monitoringDurationHours = payload.monitoringDurationHours ?? CANARY_DEFAULTS.monitoringDurationHours;

  let environments = [environment];
  if (payload.strategy === 'environment') {
    if (payload.targetEnvironments === undefined || payload.targetEnvironments.length === 0) {
      problems.push({
        path: 'targetEnvironments',
        message: 'an environment canary needs at least one target environment',
      });
    } else environments = payload.targetEnvironments;
    if (payload.environment !== undefined)
      problems.push({ path: 'environment', message: 'an environment canary changes its targetEnvironments' });
  } else if (payload.targetEnvironments !== undefined) {
    problems.push({ path: 'targetEnvironments', message: 'are for environment canaries only' });
  }
  if (payload.strategy === 'user_list') {
    if (payload.targetUsers === undefined || payload.targetUsers.length === 0)
      problems.push({ path: 'targetUsers', message: 'a user_list canary needs at least one user' });
  } else if (payload.targetUsers !== undefined) {
    problems.push({ path: 'targetUsers', message: 'are for user_list canaries only' });
  }

  const stages = stagesOf(payload, monitoringDurationHours * 60, problems);
  const successCriteria = criteriaOf(payload.successCriteria, 'successCriteria', problems);
  const rollbackCriteria = criteriaOf(payload.rollbackCriteria, 'rollbackCriteria', problems);
  crossCheck(successCriteria, rollbackCriteria, problems);
  const cohorts = cohortsOf(payload, flag, environments, problems);
  if (problems.length > 0) throw CanaryError.invalid(problems);

  const judge: JudgeConfig = {
    alpha: payload.alpha ?? CANARY_DEFAULTS.alpha,
    safeAlpha: payload.safeAlpha ?? CANARY_DEFAULTS.safeAlpha,
    tolerance: payload.tolerance ?? CANARY_DEFAULTS.tolerance,
  };
  if (rollbackCriteria.maxResponseTimeMs !== undefined) judge.slowMs = rollbackCriteria.maxResponseTimeMs;
  if (successCriteria.maxResponseTimeMs !== undefined) judge.safeSlowMs = successCriteria.maxResponseTimeMs;
  const maxErrorRate = errorBound(rollbackCriteria);
  if (maxErrorRate !== undefined) judge.maxErrorRate = maxErrorRate;
  const safeMaxErrorRate = errorBound(successCriteria);
  if (safeMaxErrorRate !== undefined) judge.safeMaxErrorRate = safeMaxErrorRate;

  return {
    id,
    flagKey: payload.flagKey,
    name: payload.name,
    ...(payload.description === undefined ? {} : { description: payload.description }),
    strategy: payload.strategy,
    environment: environments[0]!,
    environments,
    ...(stages[0]?.percentage === undefined ? {} : { targetPercentage: stages[stages.length - 1]!.percentage }),
    ...(payload.targetUsers === undefined ? {} : { targetUsers: payload.targetUsers }),
    stages,
    monitoringDurationHours,
    successCriteria,
    rollbackCriteria,
    judge,
    policy: {
      onRegression: payload.onRegression ?? 'rollback',
      onInconclusive: payload.onInconclusive ?? 'hold',
      autoPromote: payload.autoPromote ?? true,
      minRequests: payload.minRequests ?? CANARY_DEFAULTS.minRequests,
    },
    cohorts,
  };
}
