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

/** What `rolloutOfStrategy` needs beyond the wire shape, with paths relative to the input. */
export function rolloutStrategyProblems(input: RolloutStrategyInput): Problem[] {
  if (input.strategy === 'percentage' && input.percentage === undefined) {
    return [{ path: 'percentage', message: 'is required by the percentage strategy' }];
  }
  return [];
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
