import {
  Allow,
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import type { EnvironmentConfig, FlagDefinition, Rollout, Rule, Segment } from '#rollgate/evaluation';
import type { FlagDetails } from './flag.events.js';

/** Flag, segment and environment keys are one NATS subject token each. */
export const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,99}$/;
const KEY_MESSAGE = 'must match ^[a-z0-9][a-z0-9_-]{0,99}$ (lower case, digits, _ and -)';
export const MAX_USER_LIST_DELTA = 100_000;

/**
 * Command payloads of `rg.cmd.flags.<verb>`, validated at the edge with class-validator (shape), then in full by
 * the decider (the flag model's own validation: operators, rollouts, ranges).
 */
export const FLAG_COMMANDS = {
  create: 'create',
  updateDetails: 'update-details',
  archive: 'archive',
  unarchive: 'unarchive',
  toggle: 'toggle',
  configureEnvironment: 'configure-environment',
  removeEnvironment: 'remove-environment',
  changeRollout: 'change-rollout',
  setRules: 'set-rules',
  changeUserList: 'change-user-list',
  revert: 'revert',
  defineSegment: 'define-segment',
  removeSegment: 'remove-segment',
} as const;

export const FLAG_QUERIES = {
  get: 'get',
  list: 'list',
  history: 'history',
  audit: 'audit',
  snapshot: 'snapshot',
  evaluate: 'evaluate',
  segments: 'segments',
  analytics: 'analytics',
} as const;

abstract class FlagTarget {
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;

  /** Optimistic concurrency from the caller (HTTP If-Match); absent = decide on the latest version. */
  @IsOptional()
  @IsInt()
  @Min(0)
  expectedVersion?: number;
}

export class CreateFlagPayload {
  @IsObject()
  flag!: Omit<FlagDefinition, 'version' | 'archived'>;
}

export class UpdateFlagDetailsPayload extends FlagTarget {
  @IsObject()
  changes!: Partial<FlagDetails>;
}

export class ArchiveFlagPayload extends FlagTarget {}
export class UnarchiveFlagPayload extends FlagTarget {}

export class ToggleFlagPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @IsBoolean()
  enabled!: boolean;
}

export class ConfigureEnvironmentPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @IsObject()
  config!: EnvironmentConfig;
}

export class RemoveEnvironmentPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;
}

export class ChangeRolloutPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @IsObject()
  rollout!: Rollout;

  /** Change a rule's rollout instead of the environment's default. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  ruleId?: string;
}

export class SetRulesPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @IsArray()
  @ArrayMaxSize(1_000)
  rules!: Rule[];
}

export class ChangeUserListPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  ruleId?: string;

  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  add!: string[];

  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  remove!: string[];
}

/** Restore a flag to an earlier version, or to what it was at a point in time. Exactly one of the two. */
export class RevertFlagPayload extends FlagTarget {
  @ValidateIf((payload: RevertFlagPayload) => payload.asOf === undefined)
  @IsInt()
  @Min(1)
  toVersion?: number;

  @ValidateIf((payload: RevertFlagPayload) => payload.toVersion === undefined)
  @IsISO8601({ strict: true })
  asOf?: string;
}

export class DefineSegmentPayload {
  @IsObject()
  segment!: Omit<Segment, 'version'>;

  @IsOptional()
  @IsInt()
  @Min(0)
  expectedVersion?: number;
}

export class RemoveSegmentPayload {
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;
}

/** What every flag command replies with. */
export interface FlagCommandResult {
  key: string;
  version: number;
  /** Global position of the first event appended (string: it may exceed 2^53). */
  position: string;
  /** True when this command id had been applied before; nothing new was appended. */
  duplicate: boolean;
  /** Events this call appended: 0 for a duplicate or a no-op (the command would not change the flag). */
  appended?: number;
  flag: FlagDefinition | null;
}

export const FLAG_STATUSES = ['active', 'archived'] as const;

export class ListFlagsQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  tag?: string;

  @IsOptional()
  @IsIn(FLAG_STATUSES)
  status?: (typeof FLAG_STATUSES)[number];
}

export class FlagKeyQuery {
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;

  /** State as of a past version or time (history and as-of evaluation). */
  @IsOptional()
  @IsISO8601({ strict: true })
  asOf?: string;
}

export class SnapshotQuery {
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;
}

export class EvaluateFlagQuery {
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;

  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @IsObject()
  context!: Record<string, unknown>;

  /** Returned (reason ERROR) when the flag is unknown or serves no value; any JSON value. */
  @IsOptional()
  @Allow()
  defaultValue?: unknown;

  /** Evaluate as the flag was at this time: what was served then. */
  @IsOptional()
  @IsISO8601({ strict: true })
  asOf?: string;
}

export interface AuditEntry {
  key: string;
  version: number;
  eventType: string;
  actor: string | null;
  reason: string | null;
  commandId: string | null;
  correlationId: string | null;
  recordedAt: string;
  globalPosition: string;
  change: unknown;
  before: FlagDefinition | null;
  after: FlagDefinition | null;
}
