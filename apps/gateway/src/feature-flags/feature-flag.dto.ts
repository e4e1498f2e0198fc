import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ANALYTICS_GRANULARITIES, FLAG_STATUSES, KEY_PATTERN, MAX_PAGE_SIZE, MAX_USER_LIST_DELTA } from '#rollgate/contracts';
import { ToNumber } from '#rollgate/platform';
import { FLAG_TYPES, PPM_MAX, type FlagType, type JsonValue } from '#rollgate/evaluation';

const KEY_MESSAGE = 'must match ^[a-z0-9][a-z0-9_-]{0,99}$ (lower case, digits, _ and -)';

/** The seed's five rollout strategies. */
export const ROLLOUT_STRATEGIES = ['all_users', 'percentage', 'user_list', 'environment', 'gradual'] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

/** Environments every flag created in the simple form has (targeted ones are added). */
export const KNOWN_ENVIRONMENTS = ['development', 'staging', 'production'] as const;

export const DEFAULT_GRADUAL_HOURS = 24;

export class VariantDto {
  @ApiProperty({ example: 'treatment', pattern: KEY_PATTERN.source })
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;

  @ApiProperty({ description: 'Relative weight, integer 0..1 000 000', example: 50 })
  @IsInt()
  @Min(0)
  @Max(PPM_MAX)
  weight!: number;

  @ApiPropertyOptional({ description: 'Any JSON value served with the variant' })
  @Allow()
  payload?: JsonValue;
}

/**
 * The rollout fields of the seed's simple form, shared by create, update and the rollout endpoint.
 * `rollout_percentage` is a percentage (float, 0..100, rounded to 0.0001 %), not ppm.
 */
export class SeedRolloutFields {
  @ApiPropertyOptional({ enum: ROLLOUT_STRATEGIES, description: 'Default: inferred from flag_type / the fields given' })
  @IsOptional()
  @IsIn(ROLLOUT_STRATEGIES)
  rollout_strategy?: RolloutStrategy;

  @ApiPropertyOptional({ minimum: 0, maximum: 100, example: 10, description: 'Percent of users, resolution 0.0001' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(100)
  rollout_percentage?: number;

  @ApiPropertyOptional({ type: [String], description: 'User ids (the user_list strategy, or always-on users)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  user_ids?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Alias of user_ids' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  target_users?: string[];

  @ApiPropertyOptional({ description: 'gradual: ramp length in hours (default 24)', example: 24 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.001)
  @Max(24 * 366)
  gradual_duration_hours?: number;

  @ApiPropertyOptional({ description: 'gradual: number of equal steps (absent: continuous)', example: 4 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  gradual_steps?: number;

  @ApiPropertyOptional({ description: 'gradual: ramp start (default now), ISO-8601' })
  @IsOptional()
  @IsISO8601({ strict: true })
  gradual_start?: string;
}

/**
 * POST /feature-flags. Either the seed's simple call (`name`, `flag_type`, `rollout_strategy`,
 * `rollout_percentage`, `target_environments`, `user_ids`...) or the full model as `flag`; not both.
 */
export class CreateFeatureFlagDto extends SeedRolloutFields {
  @ApiPropertyOptional({ description: 'Full model form (snake_case FlagDefinition); excludes the simple fields' })
  @IsOptional()
  @IsObject()
  flag?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'The flag key', example: 'auto_submit_enabled', pattern: KEY_PATTERN.source })
  @ValidateIf((dto: CreateFeatureFlagDto) => dto.flag === undefined || dto.name !== undefined)
  @Matches(KEY_PATTERN, { message: `name ${KEY_MESSAGE}` })
  name?: string;

  @ApiPropertyOptional({ description: 'Human-readable name (default: the key)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  display_name?: string;

  @ApiPropertyOptional({ example: 'Enable automatic dispute submission' })
  @IsOptional()
  @IsString()
  @MaxLength(2_000)
  description?: string;

  @ApiPropertyOptional({ enum: FLAG_TYPES, default: 'boolean' })
  @IsOptional()
  @IsIn(FLAG_TYPES)
  flag_type?: FlagType;

  @ApiPropertyOptional({ type: [String], example: ['production'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: `each of target_environments ${KEY_MESSAGE}` })
  target_environments?: string[];

  @ApiPropertyOptional({ type: [VariantDto], description: 'Experiment flags only' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => VariantDto)
  variants?: VariantDto[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  tags?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  owner?: string;

  @ApiPropertyOptional({ description: 'Why (audit trail); X-Rollgate-Reason header also works' })
  @IsOptional()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

/** PUT /feature-flags/{key}: every field optional; see docs/api.md for the commands each one becomes. */
export class UpdateFeatureFlagDto extends SeedRolloutFields {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  display_name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2_000)
  description?: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  tags?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  owner?: string;

  @ApiPropertyOptional({ type: [VariantDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => VariantDto)
  variants?: VariantDto[];

  @ApiPropertyOptional({ type: [String], description: 'Enabled exactly in these; other environments switched off' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: `each of target_environments ${KEY_MESSAGE}` })
  target_environments?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ListFeatureFlagsQueryDto {
  @ApiPropertyOptional({ example: 'production' })
  @IsOptional()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  tag?: string;

  @ApiPropertyOptional({ enum: FLAG_STATUSES })
  @IsOptional()
  @IsIn(FLAG_STATUSES)
  status?: (typeof FLAG_STATUSES)[number];
}

export class AsOfQueryDto {
  @ApiPropertyOptional({ description: 'ISO-8601 time: the flag as it was then' })
  @IsOptional()
  @IsISO8601({ strict: true })
  as_of?: string;
}

export class EvaluateFeatureFlagDto {
  @ApiPropertyOptional({ default: 'production' })
  @IsOptional()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment?: string;

  @ApiPropertyOptional({ example: 'user123', description: 'Shortcut for context.userId' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  user_id?: string;

  @ApiPropertyOptional({ description: 'Attributes, names as given (user_id is read as userId)', example: { plan: 'pro' } })
  @IsOptional()
  @IsObject()
  context?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Evaluate the flag as it was at this ISO-8601 time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  as_of?: string;

  @ApiPropertyOptional({ description: 'Served (reason ERROR) when the flag is unknown; any JSON value' })
  @Allow()
  default_value?: JsonValue;
}

export class ToggleOrConfigureEnvironmentDto {
  @ApiProperty()
  @IsBoolean()
  enabled!: boolean;

  @ApiPropertyOptional({ description: 'Full config: the default rollout (model form, e.g. {"type":"percentage","ppm":100000})' })
  @IsOptional()
  @IsObject()
  default_rollout?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Full config: ordered rules (model form)', type: [Object] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1_000)
  @IsObject({ each: true })
  rules?: Record<string, unknown>[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ChangeRolloutDto extends SeedRolloutFields {
  @ApiPropertyOptional({ description: 'Model form, e.g. {"type":"gradual","from":0,"to":500000,"start":…,"end":…}' })
  @IsOptional()
  @IsObject()
  rollout?: Record<string, unknown>;

  @ApiPropertyOptional({ description: "Change this rule's rollout instead of the default" })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  rule_id?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class SetRulesDto {
  @ApiProperty({ type: [Object], description: 'Ordered rules (model form, snake_case)' })
  @IsArray()
  @ArrayMaxSize(1_000)
  @IsObject({ each: true })
  rules!: Record<string, unknown>[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ChangeUsersDto {
  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  add?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  remove?: string[];

  @ApiPropertyOptional({ description: "A rule's user list instead of the default rollout's" })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  rule_id?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class RevertFeatureFlagDto {
  @ApiPropertyOptional({ description: 'Restore this version (exactly one of to_version, as_of)' })
  @ValidateIf((dto: RevertFeatureFlagDto) => dto.as_of === undefined)
  @IsInt()
  @Min(1)
  to_version?: number;

  @ApiPropertyOptional({ description: 'Restore the flag as it was at this ISO-8601 time' })
  @ValidateIf((dto: RevertFeatureFlagDto) => dto.to_version === undefined || dto.as_of !== undefined)
  @IsISO8601({ strict: true })
  as_of?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class HistoryQueryDto {
  @ApiPropertyOptional({ description: 'First version to return (next_from_version of the previous page)' })
  @IsOptional()
  @ToNumber()
  @IsInt()
  @Min(1)
  from_version?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE })
  @IsOptional()
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

export class AnalyticsQueryDto {
  @ApiPropertyOptional({ description: 'ISO-8601; default 24 hours ago' })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @ApiPropertyOptional({ description: 'ISO-8601; default now' })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment?: string;

  @ApiPropertyOptional({ enum: ANALYTICS_GRANULARITIES })
  @IsOptional()
  @IsIn(ANALYTICS_GRANULARITIES)
  granularity?: (typeof ANALYTICS_GRANULARITIES)[number];
}

/** `GET /feature-flags/{key}/outcomes`: the same window and filters as analytics. */
export class OutcomesQueryDto extends AnalyticsQueryDto {}
