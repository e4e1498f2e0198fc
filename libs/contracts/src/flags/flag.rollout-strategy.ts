import type { Rollout } from '#rollgate/evaluation';
import type { Problem } from '../error-codes.js';

/**
 * The seed's five rollout strategies and the fields that parametrise them, as the `update` command carries them
 * (camelCase; the gateway's simple form is the same in snake_case). `rolloutOfStrategy` is the one meaning of
 * those fields: the gateway uses it to build a new flag, the flags decider to plan an update against the flag's
 * current state.
 */
export const ROLLOUT_STRATEGIES = ['all_users', 'percentage', 'user_list', 'environment', 'gradual'] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

export const DEFAULT_GRADUAL_HOURS = 24;
const HOUR_MS = 3_600_000;
const PPM_PER_PERCENT = 10_000;
const PPM_ALL = 100 * PPM_PER_PERCENT;

export interface RolloutStrategyInput {
  strategy: RolloutStrategy;
  /** 0..100, float; resolution 0.0001 % (1 ppm). Required by `percentage`; `gradual` ramps to it (default 100). */
  percentage?: number;
  /** `user_list`: the users. */
  users?: string[];
  /** `gradual`: ramp length (default 24 h), number of equal steps (absent: continuous), start (ISO-8601, default now). */
  gradualDurationHours?: number;
  gradualSteps?: number;
  gradualStart?: string;
}

/** A percentage 0..100 (float) → parts per million; 0.0001 % resolution, rounded to the nearest ppm. */
export const percentToPpm = (percent: number): number => Math.min(PPM_ALL, Math.max(0, Math.round(percent * PPM_PER_PERCENT)));

export const ppmToPercent = (ppm: number): number => ppm / PPM_PER_PERCENT;

const FIELDS = new Set(['strategy', 'percentage', 'users', 'gradualDurationHours', 'gradualSteps', 'gradualStart']);
const STRATEGIES: ReadonlySet<unknown> = new Set(ROLLOUT_STRATEGIES);
const MAX_USERS = 100_000;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

const isFiniteIn = (value: unknown, min: number, max: number): boolean =>
  typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;

/**
 * Everything wrong with strategy fields from the wire (unknown fields, types, ranges, a percentage the
 * percentage strategy lacks), with paths relative to them. Empty when `rolloutOfStrategy` may use them.
 */
export function rolloutStrategyProblems(input: unknown): Problem[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [{ path: '', message: 'must be an object' }];
  const fields = input as Record<string, unknown>;
  const out: Problem[] = [];
  for (const field of Object.keys(fields)) if (!FIELDS.has(field)) out.push({ path: field, message: 'unknown field' });
  if (!STRATEGIES.has(fields['strategy'])) out.push({ path: 'strategy', message: `must be one of ${ROLLOUT_STRATEGIES.join(', ')}` });
  const { percentage, users, gradualDurationHours, gradualSteps, gradualStart } = fields;
  if (percentage !== undefined && !isFiniteIn(percentage, 0, 100)) out.push({ path: 'percentage', message: 'must be a number in 0..100' });
  if (percentage === undefined && fields['strategy'] === 'percentage') {
    out.push({ path: 'percentage', message: 'is required by the percentage strategy' });
  }
  if (
    users !== undefined &&
    (!Array.isArray(users) || users.length > MAX_USERS || users.some((u) => typeof u !== 'string' || u.length > 256))
  ) {
    out.push({ path: 'users', message: `must be at most ${MAX_USERS} strings of at most 256 characters` });
  }
  if (gradualDurationHours !== undefined && !isFiniteIn(gradualDurationHours, 0.001, 24 * 366)) {
    out.push({ path: 'gradualDurationHours', message: `must be a number in 0.001..${24 * 366}` });
  }
  if (gradualSteps !== undefined && !(Number.isInteger(gradualSteps) && isFiniteIn(gradualSteps, 1, 10_000))) {
    out.push({ path: 'gradualSteps', message: 'must be an integer in 1..10000' });
  }
  if (gradualStart !== undefined && !(typeof gradualStart === 'string' && ISO_8601.test(gradualStart) && !Number.isNaN(Date.parse(gradualStart)))) {
    out.push({ path: 'gradualStart', message: 'must be an ISO-8601 time' });
  }
  return out;
}

/**
 * The default rollout a strategy stands for (check `rolloutStrategyProblems` first). `environment` is on in
 * `targetEnvironments`; `gradual` ramps from 0 to `percentage` (or 100 %) starting at `gradualStart` (or `now`).
 */
export function rolloutOfStrategy(input: RolloutStrategyInput, targetEnvironments: readonly string[], now: number): Rollout {
  switch (input.strategy) {
    case 'all_users':
      return { type: 'all_users' };
    case 'percentage':
      return { type: 'percentage', ppm: percentToPpm(input.percentage ?? 0) };
    case 'user_list':
      return { type: 'user_list', users: [...new Set(input.users ?? [])] };
    case 'environment':
      return { type: 'environment', environments: [...targetEnvironments] };
    case 'gradual': {
      const start = input.gradualStart === undefined ? now : Date.parse(input.gradualStart);
      const hours = input.gradualDurationHours ?? DEFAULT_GRADUAL_HOURS;
      const rollout: Rollout = {
        type: 'gradual',
        from: 0,
        to: percentToPpm(input.percentage ?? 100),
        start,
        end: start + Math.max(1, Math.round(hours * HOUR_MS)),
      };
      return input.gradualSteps === undefined ? rollout : { ...rollout, steps: input.gradualSteps };
    }
    default: {
      const unknown: never = input.strategy;
      throw new Error(`unknown rollout strategy ${String(unknown)}`);
    }
  }
}
