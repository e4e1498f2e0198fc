import { bucketFromHash } from './bucketing.js';
import type { EvaluationContext, Rollout } from './flag.model.js';
import { PPM_MAX } from './flag.model.js';
import { murmur3From } from './murmur3.js';

export const DEFAULT_STICKINESS = 'userId';

export const RolloutKind = { All: 0, None: 1, Percentage: 2, UserList: 3, Gradual: 4 } as const;
export type RolloutKind = (typeof RolloutKind)[keyof typeof RolloutKind];

/**
 * Exposure of a gradual rollout at `now`, in ppm. Linear from `from` at `start` to `to` at `end`; with
 * `steps`, it moves in `steps` equal jumps instead. floor() keeps it integral and, for from <= to,
 * non-decreasing in `now`, which with a fixed bucket means a unit once in stays in.
 */
export function gradualPpm(rollout: Extract<Rollout, { type: 'gradual' }>, now: number): number {
  const { from, to, start, end } = rollout;
  if (now < start) return from;
  if (now >= end || end <= start) return to;
  let fraction = (now - start) / (end - start);
  if (rollout.steps !== undefined && rollout.steps > 0) fraction = Math.floor(fraction * rollout.steps) / rollout.steps;
  return Math.floor(from + (to - from) * fraction);
}

/** The unit's value for bucketing: strings as-is, finite numbers in their JS text form. */
export function unitOf(context: EvaluationContext, attribute: string): string | undefined {
  const value = context[attribute];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * The murmur3 state after `salt + ":"`, as three plain numbers on the compiled flag (no separate
 * state object per flag); the pending-byte count is `saltLen & 3`.
 */
export interface SaltPrefix {
  readonly saltH: number;
  readonly saltK: number;
  readonly saltLen: number;
}

/** The unit's bucket under the flag's salt. */
export function bucketIn(salt: SaltPrefix, unit: string): number {
  return bucketFromHash(murmur3From(salt.saltH, salt.saltK, salt.saltLen, unit));
}

/**
 * One shape for every rollout kind keeps `includes` monomorphic; the fields a kind does not use stay
 * at their zero values.
 */
export class CompiledRollout {
  constructor(
    readonly kind: RolloutKind,
    readonly ppm: number,
    readonly attribute: string,
    readonly users: ReadonlySet<string> | null,
    readonly gradual: Extract<Rollout, { type: 'gradual' }> | null,
  ) {}

  /** Whether the unit is exposed. A unit without a usable stickiness value is not (never random). */
  includes(context: EvaluationContext, salt: SaltPrefix, now: number | undefined, clock: () => number): boolean {
    switch (this.kind) {
      case RolloutKind.All:
        return true;
      case RolloutKind.None:
        return false;
      case RolloutKind.Percentage: {
        const unit = unitOf(context, this.attribute);
        return unit !== undefined && bucketIn(salt, unit) < this.ppm;
      }
      case RolloutKind.UserList: {
        const unit = unitOf(context, this.attribute);
        return unit !== undefined && this.users!.has(unit);
      }
      case RolloutKind.Gradual: {
        const unit = unitOf(context, this.attribute);
        return unit !== undefined && bucketIn(salt, unit) < gradualPpm(this.gradual!, now ?? clock());
      }
    }
  }

  /** True when the outcome depends on the unit's hash (the reason is then SPLIT). */
  get isSplit(): boolean {
    return this.kind === RolloutKind.Percentage || this.kind === RolloutKind.Gradual;
  }
}

const ALL = new CompiledRollout(RolloutKind.All, PPM_MAX, '', null, null);
const NONE = new CompiledRollout(RolloutKind.None, 0, '', null, null);

// Percentage rollouts carry no per-flag state (the salt prefix is the flag's), so equal ones are shared,
// looked up by attribute then ppm (no key string per compile).
const SHARED_LIMIT = 10_000;
const sharedPercentages = new Map<string, Map<number, CompiledRollout>>();
let sharedCount = 0;

function percentage(ppm: number, attribute: string): CompiledRollout {
  let byPpm = sharedPercentages.get(attribute);
  let rollout = byPpm?.get(ppm);
  if (rollout === undefined) {
    rollout = new CompiledRollout(RolloutKind.Percentage, ppm, attribute, null, null);
    if (sharedCount < SHARED_LIMIT) {
      if (byPpm === undefined) sharedPercentages.set(attribute, (byPpm = new Map()));
      byPpm.set(ppm, rollout);
      sharedCount++;
    }
  }
  return rollout;
}

/**
 * `environment` rollouts are resolved here: an engine serves one environment, so they compile to
 * all-or-nothing. 0 ppm and 1 000 000 ppm percentages compile to the same constants.
 */
export function compileRollout(rollout: Rollout, environment: string): CompiledRollout {
  switch (rollout.type) {
    case 'all_users':
      return ALL;
    case 'none':
      return NONE;
    case 'environment':
      return rollout.environments.includes(environment) ? ALL : NONE;
    case 'percentage':
      if (rollout.ppm >= PPM_MAX) return ALL;
      if (rollout.ppm <= 0) return NONE;
      return percentage(rollout.ppm, rollout.stickiness ?? DEFAULT_STICKINESS);
    case 'user_list':
      return new CompiledRollout(RolloutKind.UserList, 0, rollout.attribute ?? DEFAULT_STICKINESS, new Set(rollout.users), null);
    case 'gradual':
      return new CompiledRollout(RolloutKind.Gradual, 0, rollout.stickiness ?? DEFAULT_STICKINESS, null, { ...rollout });
  }
}
