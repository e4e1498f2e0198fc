import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsObject,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  CANARY_ID_PATTERN,
  CANARY_STATUSES,
  CANARY_STRATEGIES,
  INCONCLUSIVE_ACTIONS,
  KEY_PATTERN,
  MAX_CANARY_PERCENTAGE,
  MAX_MONITORING_HOURS,
  MAX_STAGES,
  MAX_TARGET_USERS,
  MIN_CANARY_PERCENTAGE,
  MIN_MONITORING_HOURS,
  REGRESSION_ACTIONS,
  keyMessage,
  type CanaryStatus,
  type CanaryStrategy,
} from '#rollgate/contracts';
import { ToBoolean, ToNumber } from '#rollgate/platform';
import { IsOptionalNotNull } from '../http/optional.js';

export class CanaryStageDto {
  @ApiProperty({ minimum: MIN_CANARY_PERCENTAGE, maximum: MAX_CANARY_PERCENTAGE, example: 10 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(MIN_CANARY_PERCENTAGE)
  @Max(MAX_CANARY_PERCENTAGE)
  percentage!: number;

  @ApiProperty({ description: 'Minimum time at this stage (fractions allowed)', example: 15 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_MONITORING_HOURS * 60)
  min_duration_minutes!: number;
}

/** The seed's criteria keys; unknown keys and impossible values are refused by the canary service's planner. */
const CRITERIA_EXAMPLE = { min_success_rate: 0.95, max_error_rate: 0.05, max_response_time_ms: 2000 };

/** The seed's canary fields, shared by POST /canary-deployments and POST /feature-flags/{id}/canary. */
export class CanaryOptionsDto {
  @ApiPropertyOptional({ description: 'Default production (environment canaries change target_environments)' })
  @IsOptionalNotNull()
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment?: string;

  @ApiPropertyOptional({ minimum: MIN_MONITORING_HOURS, maximum: MAX_MONITORING_HOURS, default: 24 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(MIN_MONITORING_HOURS)
  @Max(MAX_MONITORING_HOURS)
  monitoring_duration_hours?: number;

  @ApiPropertyOptional({
    description: 'Minimum time before a one-stage canary may promote (default: its monitoring duration)',
  })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_MONITORING_HOURS * 60)
  min_duration_minutes?: number;

  @ApiPropertyOptional({
    example: CRITERIA_EXAMPLE,
    description: 'Promotion needs these certified (anytime-valid bounds)',
  })
  @IsOptionalNotNull()
  @IsObject()
  success_criteria?: Record<string, unknown>;

  @ApiPropertyOptional({ example: { max_error_rate: 0.1, min_success_rate: 0.8, max_response_time_ms: 5000 } })
  @IsOptionalNotNull()
  @IsObject()
  rollback_criteria?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'False-rollback bound (any look cadence, any duration)', default: 0.01 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.0001)
  @Max(0.2)
  alpha?: number;

  @ApiPropertyOptional({ description: 'Level of the SAFE certificate', default: 0.05 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.0001)
  @Max(0.5)
  safe_alpha?: number;

  @ApiPropertyOptional({ description: 'SAFE certifies: not this many times worse than the baseline', default: 2 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(1.05)
  @Max(10)
  tolerance?: number;

  @ApiPropertyOptional({ enum: REGRESSION_ACTIONS, default: 'rollback' })
  @IsOptionalNotNull()
  @IsIn(REGRESSION_ACTIONS)
  on_regression?: (typeof REGRESSION_ACTIONS)[number];

  @ApiPropertyOptional({ enum: INCONCLUSIVE_ACTIONS, default: 'hold' })
  @IsOptionalNotNull()
  @IsIn(INCONCLUSIVE_ACTIONS)
  on_inconclusive?: (typeof INCONCLUSIVE_ACTIONS)[number];

  @ApiPropertyOptional({ default: true })
  @IsOptionalNotNull()
  @IsBoolean()
  auto_promote?: boolean;

  @ApiPropertyOptional({ description: 'Canary-cohort requests each stage needs', default: 100 })
  @IsOptionalNotNull()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  min_requests?: number;
}

/** POST /canary-deployments: the seed's create_canary_deployment fields, plus the plan's and the judge's. */
export class CreateCanaryDeploymentDto extends CanaryOptionsDto {
  @ApiPropertyOptional({ description: 'Default: derived from the Idempotency-Key', pattern: CANARY_ID_PATTERN.source })
  @IsOptionalNotNull()
  @Matches(CANARY_ID_PATTERN, { message: `id must match ${CANARY_ID_PATTERN.source}` })
  id?: string;

  @ApiProperty({ example: 'auto_submit_enabled' })
  @Matches(KEY_PATTERN, { message: keyMessage('feature_flag_id') })
  feature_flag_id!: string;

  @ApiProperty({ example: 'Auto Submit Canary' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(2_000)
  description?: string;

  @ApiProperty({ enum: CANARY_STRATEGIES, example: 'percentage' })
  @IsIn(CANARY_STRATEGIES)
  strategy!: CanaryStrategy;

  @ApiPropertyOptional({ minimum: MIN_CANARY_PERCENTAGE, maximum: MAX_CANARY_PERCENTAGE, example: 10 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  target_percentage?: number;

  @ApiPropertyOptional({ type: [String], description: 'user_list canaries' })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_TARGET_USERS)
  @ArrayUnique()
  @IsString({ each: true })
  @Length(1, 256, { each: true })
  target_users?: string[];

  @ApiPropertyOptional({ type: [String], description: 'environment canaries' })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: keyMessage('each of target_environments') })
  target_environments?: string[];

  @ApiPropertyOptional({ type: [CanaryStageDto], description: 'gradual canaries: increasing percentages' })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_STAGES)
  @ValidateNested({ each: true })
  @Type(() => CanaryStageDto)
  stages?: CanaryStageDto[];

  @ApiPropertyOptional({ description: 'ab_test: the variant under test' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  canary_variant?: string;

  @ApiPropertyOptional({ description: 'ab_test: the variant compared against' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  baseline_variant?: string;

  @ApiPropertyOptional({ description: 'Start at once (create then start, one request)' })
  @IsOptionalNotNull()
  @IsBoolean()
  start?: boolean;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

/** POST /feature-flags/{id}/canary: the seed's start_canary_deployment(flag_id, canary_percentage, monitoring_duration_hours). */
export class StartFlagCanaryDto extends CanaryOptionsDto {
  @ApiPropertyOptional({ minimum: MIN_CANARY_PERCENTAGE, maximum: MAX_CANARY_PERCENTAGE, default: 10 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  canary_percentage?: number;

  @ApiPropertyOptional({ description: 'Default: "<flag> canary"' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  started_by?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class StartCanaryDto {
  @ApiPropertyOptional({ example: 'admin_user' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  started_by?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class PromoteCanaryDto {
  @ApiPropertyOptional({ example: 'admin_user' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  promoted_by?: string;

  @ApiPropertyOptional({ description: 'Promote without the SAFE certificate (recorded in the log)' })
  @IsOptionalNotNull()
  @IsBoolean()
  override?: boolean;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class RollbackCanaryDto {
  @ApiPropertyOptional({ example: 'admin_user' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  rolled_back_by?: string;

  @ApiPropertyOptional({ example: 'performance_issues' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class PauseCanaryDto {
  @ApiPropertyOptional({ example: 'oncall' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  paused_by?: string;

  @ApiPropertyOptional({ example: 'incident on the payments API' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ResumeCanaryDto {
  @ApiPropertyOptional({ example: 'oncall' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  resumed_by?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class AbortCanaryDto {
  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ListCanariesQueryDto {
  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @Matches(KEY_PATTERN, { message: keyMessage('feature_flag_id') })
  feature_flag_id?: string;

  @ApiPropertyOptional({ enum: CANARY_STATUSES })
  @IsOptionalNotNull()
  @IsIn(CANARY_STATUSES)
  status?: CanaryStatus;

  @ApiPropertyOptional({ description: 'Only canaries not yet promoted, rolled back or cancelled' })
  @IsOptionalNotNull()
  @ToBoolean()
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({ default: 100, maximum: 500 })
  @IsOptionalNotNull()
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class CanaryMetricsQueryDto {
  @ApiPropertyOptional({ description: 'ISO-8601; windows that end after it' })
  @IsOptionalNotNull()
  @IsISO8601({ strict: true })
  start_time?: string;

  @ApiPropertyOptional({ description: 'ISO-8601; windows that start before it' })
  @IsOptionalNotNull()
  @IsISO8601({ strict: true })
  end_time?: string;
}
