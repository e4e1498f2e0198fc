/**
 * The flag model: plain JSON-serializable data. It travels in events and snapshots, so it holds no
 * functions, classes, Dates or Sets; everything the evaluator needs at speed is derived by `compileFlag`.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type FlagType = 'boolean' | 'percentage' | 'user_list' | 'environment' | 'experiment';

export const FLAG_TYPES: readonly FlagType[] = ['boolean', 'percentage', 'user_list', 'environment', 'experiment'];

/** Parts per million: 1 000 000 = everyone. Resolution 0.0001 %. */
export const PPM_MAX = 1_000_000;

export type Operator =
  | 'in'
  | 'not_in'
  | 'equals'
  | 'not_equals'
  | 'contains'
  | 'starts_with'
  | 'ends_with'
  | 'regex'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'before'
  | 'after'
  | 'semver_eq'
  | 'semver_lt'
  | 'semver_gt'
  | 'cidr';

export const OPERATORS: readonly Operator[] = [
  'in', 'not_in', 'equals', 'not_equals', 'contains', 'starts_with', 'ends_with', 'regex',
  'lt', 'lte', 'gt', 'gte', 'before', 'after', 'semver_eq', 'semver_lt', 'semver_gt', 'cidr',
];

export type ConditionValue = string | number | boolean;

/**
 * One test on a context attribute. A condition with several `values` matches when any value matches
 * (for `not_in` / `not_equals`: when none does). `negate` inverts the final answer, including the
 * answer for a missing attribute.
 */
export interface Condition {
  attribute: string;
  operator: Operator;
  /**
   * Booleans only with `in` / `not_in` / `equals` / `not_equals`, and they match only real boolean attributes
   * (`true` never matches the text "true"). Numbers are compared as numbers by the numeric operators.
   */
  values: ConditionValue[];
  negate?: boolean;
  /** String operators only (`in`, `equals`, `contains`, `starts_with`, `ends_with`, `regex`...). */
  caseInsensitive?: boolean;
}

/**
 * A reusable audience: all its conditions must hold, and when `memberAttribute` is set the unit's value of that
 * attribute must be one of `members` too (a user list: up to MAX_SEGMENT_MEMBERS ids). Referenced by key from rules.
 */
export interface Segment {
  key: string;
  name?: string;
  description?: string;
  conditions: Condition[];
  /** Makes the segment a member list: the context attribute its members are matched on (`userId`). */
  memberAttribute?: string;
  /** The list's members (absent = none); only with `memberAttribute`. Changed in chunks, never whole. */
  members?: string[];
  version?: number;
}

/** The largest member list a segment holds. */
export const MAX_SEGMENT_MEMBERS = 100_000;
/** The longest member id. */
export const MAX_MEMBER_LENGTH = 256;

export type Rollout =
  | { type: 'all_users' }
  | { type: 'none' }
  | { type: 'percentage'; ppm: number; stickiness?: string }
  | { type: 'user_list'; users: string[]; attribute?: string }
  | { type: 'environment'; environments: string[] }
  | {
      type: 'gradual';
      /** ppm at `start` and before it. */
      from: number;
      /** ppm at `end` and after it. */
      to: number;
      /** Epoch milliseconds. */
      start: number;
      end: number;
      /** Number of equal steps between `from` and `to`; absent means a continuous linear ramp. */
      steps?: number;
      stickiness?: string;
    };

export type RolloutType = Rollout['type'];

/**
 * A targeting rule. It matches when every condition holds, the unit is in every referenced segment,
 * and the unit is in the rule's rollout (all users when absent). Rules are tried in order; the first
 * match decides. A rule that does not match (including a unit outside its rollout) falls through.
 */
export interface Rule {
  id: string;
  description?: string;
  conditions?: Condition[];
  segments?: string[];
  rollout?: Rollout;
  /** Experiment flags: serve this variant instead of a weighted split. */
  variant?: string;
}

export interface EnvironmentConfig {
  /** The kill switch: false serves the off value with reason DISABLED. */
  enabled: boolean;
  rules?: Rule[];
  defaultRollout: Rollout;
}

export interface Variant {
  key: string;
  payload?: JsonValue;
  /** Non-negative integer, relative to the sum of all weights. */
  weight: number;
}

/**
 * OpenFeature flag metadata: flat string, number and boolean values set on the flag (a version label, an owner
 * team, a ticket) and returned with every evaluation. Bounded by MAX_METADATA_KEYS / MAX_METADATA_BYTES.
 */
export type FlagMetadata = Readonly<Record<string, string | number | boolean>>;

export const MAX_METADATA_KEYS = 32;
export const MAX_METADATA_KEY_LENGTH = 100;
/** The whole metadata object as JSON. */
export const MAX_METADATA_BYTES = 4_096;

export interface FlagDefinition {
  key: string;
  name: string;
  description?: string;
  type: FlagType;
  tags?: string[];
  owner?: string;
  /** Experiment flags only. */
  variants?: Variant[];
  /** Experiment flags: the variant served when off (disabled, archived, outside every rollout). */
  offVariant?: string;
  /** Keyed by environment name. A missing environment means the flag is off there. */
  environments: Record<string, EnvironmentConfig>;
  archived?: boolean;
  version: number;
  /** Bucketing salt; defaults to the key. Changing it reshuffles every unit. */
  salt?: string;
  /** Attribute that variant splits hash on; defaults to `userId`. */
  stickiness?: string;
  /** Returned with every evaluation of the flag (OpenFeature's flagMetadata). */
  metadata?: FlagMetadata;
}

/** OpenFeature's resolution reasons (the subset Rollgate produces). */
export type Reason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'STALE' | 'ERROR';

/** OpenFeature's error codes. */
export type EvaluationErrorCode =
  | 'FLAG_NOT_FOUND'
  | 'TYPE_MISMATCH'
  | 'INVALID_CONTEXT'
  | 'TARGETING_KEY_MISSING'
  | 'PARSE_ERROR'
  | 'GENERAL';

export interface EvaluationResult<T = JsonValue> {
  readonly value: T;
  readonly variant: string | undefined;
  readonly reason: Reason;
  readonly flagVersion: number | undefined;
  readonly ruleId?: string;
  readonly errorCode?: EvaluationErrorCode;
  /** The flag's own metadata; undefined when it has none or the flag is unknown. */
  readonly metadata?: FlagMetadata;
}

/** Attributes of the evaluated unit. `userId` is the default stickiness attribute. */
export type EvaluationContext = Readonly<Record<string, unknown>>;

/** What the engine loads in one go: every flag and segment of one environment, at a store position. */
export interface EnvironmentSnapshot {
  environment: string;
  /** Opaque position of the event store the snapshot reflects (the SDK resumes after it). */
  position?: string | number;
  flags: FlagDefinition[];
  segments?: Segment[];
}
