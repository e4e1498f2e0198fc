import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Length,
  Min,
  ValidateIf,
} from 'class-validator';
import { MAX_MEMBER_LENGTH, MAX_SEGMENT_MEMBERS, type EnvironmentConfig, type FlagDefinition, type Rollout, type Rule, type Segment } from '#rollgate/evaluation';
import { KEY_PATTERN, keyMessage } from '../keys.js';
import type { FlagDetails } from './flag.events.js';
import type { RolloutStrategyInput } from './flag.rollout-strategy.js';

export const MAX_USER_LIST_DELTA = 100_000;


/**
 * The most a flag definition (or a segment's definition without its members) may take as JSON. It keeps every
 * whole-definition event (FlagCreated, FlagReverted), query reply and snapshot page far below the bus's payload
 * limit however many small changes built it up: a longer user list belongs in a member list segment.
 */
export const MAX_DEFINITION_BYTES = 256 * 1024;

/** Stream versions fit Postgres int columns and bigint comparisons: a larger one is refused, never a 500. */
export const MAX_VERSION = 2_147_483_647;

/**
 * Command payloads of `rg.cmd.flags.<verb>`, validated at the edge with class-validator (shape), then in full by
 * the decider (the flag model's own validation: operators, rollouts, ranges).
 */
export const FLAG_COMMANDS = {
  create: 'create',
  /** Details, default rollout and target environments in one decision and one append (HTTP PUT /feature-flags/{key}). */
  update: 'update',
  updateDetails: 'update-details',
  archive: 'archive',
  unarchive: 'unarchive',
  toggle: 'toggle',
  configureEnvironment: 'configure-environment',
  /**
   * One environment's configuration of many flags (up to MAX_BULK_FLAGS) in one command and one transaction: each
   * item is decided as a `configure-environment` of its flag with its own command id; all are appended or none.
   */
  configureEnvironments: 'configure-environments',
  removeEnvironment: 'remove-environment',
  changeRollout: 'change-rollout',
  setRules: 'set-rules',
  changeUserList: 'change-user-list',
  revert: 'revert',
  /** Define or redefine a segment; a member list may bring (part of) its members in `segment.members`. */
  defineSegment: 'define-segment',
  /** Add and remove members of a member list (deltas; up to 100 000 ids each way, as many chunk events as needed). */
  changeSegmentMembers: 'change-segment-members',
  removeSegment: 'remove-segment',
} as const;


abstract class FlagTarget {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  /** Optimistic concurrency from the caller (HTTP If-Match); absent = decide on the latest version. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_VERSION)
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

/**
 * Several changes to one flag, decided together against its current state and appended as one batch (one
 * expected version, one transaction), or refused as a whole:
 * - `details` → one FlagDetailsChanged;
 * - `rollout` → RolloutChanged of the default rollout in each target environment (`targetEnvironments`, else
 *   every environment enabled now) that exists;
 * - `targetEnvironments` → enabled exactly there: FlagToggled on / off, EnvironmentConfigured (enabled, with the
 *   new rollout, else production's) for a target the flag lacks; an `environment` rollout is retargeted too.
 * Rules and user lists are untouched. At least one of the three must be given.
 */
export class UpdateFlagPayload extends FlagTarget {
  @IsOptional()
  @IsObject()
  details?: Partial<FlagDetails>;

  /** Checked by `rolloutStrategyProblems` in the decider (a nested class here would need reflect-metadata in every client of the contracts). */
  @IsOptional()
  @IsObject()
  rollout?: RolloutStrategyInput;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: keyMessage('each of targetEnvironments') })
  targetEnvironments?: string[];
}

export class ArchiveFlagPayload extends FlagTarget {}
export class UnarchiveFlagPayload extends FlagTarget {}

export class ToggleFlagPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment!: string;

  @IsBoolean()
  enabled!: boolean;
}

export class ConfigureEnvironmentPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment!: string;

  @IsObject()
  config!: EnvironmentConfig;
}

/** The most flags one bulk command carries: a caller with more sends several (each its own transaction). */
export const MAX_BULK_FLAGS = 500;

/** One flag of a `configure-environments` command. */
export class EnvironmentConfigItem {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  @IsObject()
  config!: EnvironmentConfig;

  /**
   * The command id recorded with this flag's append (its idempotency key); by default `<envelope commandId>:<key>`.
   * The same id and item sent again, alone as `configure-environment` or in another bulk, is answered as a duplicate.
   */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  commandId?: string;
}

/**
 * Each item is validated as an EnvironmentConfigItem by the flags service (`@ValidateNested` with `@Type` there: the
 * transformer's `@Type` needs reflect-metadata when it decorates, which not every client of the contracts loads).
 */
export class ConfigureEnvironmentsPayload {
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment!: string;

  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_BULK_FLAGS)
  items!: EnvironmentConfigItem[];
}

export class RemoveEnvironmentPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment!: string;
}

export class ChangeRolloutPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
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
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment!: string;

  @IsArray()
  @ArrayMaxSize(1_000)
  rules!: Rule[];
}

export class ChangeUserListPayload extends FlagTarget {
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
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
  @Max(MAX_VERSION)
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
  @Max(MAX_VERSION)
  expectedVersion?: number;
}

/** Deltas of a member list: `add` and `remove` as in ChangeUserListPayload (remove first, then add). */
export class ChangeSegmentMembersPayload {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_VERSION)
  expectedVersion?: number;

  @IsArray()
  @ArrayMaxSize(MAX_SEGMENT_MEMBERS)
  @IsString({ each: true })
  @MaxLength(MAX_MEMBER_LENGTH, { each: true })
  add!: string[];

  @IsArray()
  @ArrayMaxSize(MAX_SEGMENT_MEMBERS)
  @IsString({ each: true })
  @MaxLength(MAX_MEMBER_LENGTH, { each: true })
  remove!: string[];
}

export class RemoveSegmentPayload {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
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

/** What `configure-environments` replies: one result per item, in the order sent (no definitions: keep it small). */
export interface BulkFlagCommandResult {
  items: Array<Omit<FlagCommandResult, 'flag'> & { appended: number }>;
}
