import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsObject, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { EXECUTION_STATUSES, KEY_PATTERN, keyMessage, MAX_PAGE_SIZE, ON_FAILURE, ROLLBACK_SCOPES, ROLLBACK_TYPES, type ExecutionStatus, type OnFailure, type RollbackScope, type RollbackType } from '#rollgate/contracts';
import { ToNumber } from '#rollgate/platform';
import { IsOptionalNotNull } from '../http/optional.js';

/** The seed's rollback step: `{ "type": "disable_feature_flag", "config": { "flag_id": "auto_submit_enabled" } }`. */
export class RollbackStepDto {
  @ApiProperty({ example: 'disable_feature_flag' })
  @IsString()
  @MaxLength(50)
  type!: string;

  @ApiPropertyOptional({ example: { flag_id: 'auto_submit_enabled' } })
  @IsOptionalNotNull()
  @IsObject()
  config?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'A failure of this step does not stop the execution' })
  @IsOptionalNotNull()
  @IsBoolean()
  continue_on_failure?: boolean;
}

/** POST /rollbacks/plans: the seed's create_rollback_plan fields. Steps and criteria are checked by the service. */
export class CreateRollbackPlanDto {
  @ApiPropertyOptional({ description: 'Plan id (a key); generated when absent', example: 'emergency_auto_submit' })
  @IsOptionalNotNull()
  @Matches(KEY_PATTERN, { message: keyMessage('id') })
  id?: string;

  @ApiProperty({ example: 'Auto Submit Rollback' })
  @IsString()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(2_000)
  description?: string;

  @ApiProperty({ enum: ROLLBACK_TYPES })
  @IsIn(ROLLBACK_TYPES)
  rollback_type!: RollbackType;

  @ApiProperty({ enum: ROLLBACK_SCOPES })
  @IsIn(ROLLBACK_SCOPES)
  scope!: RollbackScope;

  @ApiProperty({ example: 'auto_submit_enabled' })
  @Matches(KEY_PATTERN, { message: keyMessage('target_id') })
  target_id!: string;

  @ApiProperty({ type: [RollbackStepDto] })
  @IsArray()
  @ArrayMaxSize(50)
  rollback_steps!: RollbackStepDto[];

  @ApiPropertyOptional({ example: { max_error_rate: 0.1, min_success_rate: 0.8 } })
  @IsOptionalNotNull()
  @IsObject()
  rollback_criteria?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: ON_FAILURE, default: 'stop' })
  @IsOptionalNotNull()
  @IsIn(ON_FAILURE)
  on_failure?: OnFailure;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class UpdateRollbackPlanDto {
  @IsOptionalNotNull() @IsString() @MaxLength(200) name?: string;
  @IsOptionalNotNull() @IsString() @MaxLength(2_000) description?: string;
  @IsOptionalNotNull() @IsIn(ROLLBACK_TYPES) rollback_type?: RollbackType;
  @IsOptionalNotNull() @IsIn(ROLLBACK_SCOPES) scope?: RollbackScope;
  @IsOptionalNotNull() @Matches(KEY_PATTERN, { message: keyMessage('target_id') }) target_id?: string;
  @IsOptionalNotNull() @IsArray() @ArrayMaxSize(50) rollback_steps?: RollbackStepDto[];
  @IsOptionalNotNull() @IsObject() rollback_criteria?: Record<string, unknown>;
  @IsOptionalNotNull() @IsIn(ON_FAILURE) on_failure?: OnFailure;
  @IsOptionalNotNull() @IsString() @MaxLength(1_000) reason?: string;
}

/** POST /rollbacks/execute: the seed's execute_rollback(plan_id, executed_by, reason). */
export class ExecuteRollbackDto {
  @ApiProperty({ example: 'emergency_auto_submit' })
  @Matches(KEY_PATTERN, { message: keyMessage('plan_id') })
  plan_id!: string;

  @ApiPropertyOptional({ description: 'Recorded with the cause; the actor is the token holder' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(200)
  executed_by?: string;

  @ApiPropertyOptional({ example: 'performance_degradation' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;

  @ApiPropertyOptional({ description: 'ISO-8601: a scheduled rollback (a durable timer, fired once)' })
  @IsOptionalNotNull()
  @IsISO8601({ strict: true })
  scheduled_at?: string;
}

/** POST /rollbacks/emergency: the seed's emergency_rollback(target_id, scope, executed_by, reason). */
export class EmergencyRollbackDto {
  @ApiProperty({ example: 'auto_submit_enabled' })
  @Matches(KEY_PATTERN, { message: keyMessage('target_id') })
  target_id!: string;

  @ApiProperty({ enum: ROLLBACK_SCOPES })
  @IsIn(ROLLBACK_SCOPES)
  scope!: RollbackScope;

  @IsOptionalNotNull() @IsString() @MaxLength(200) executed_by?: string;
  @IsOptionalNotNull() @IsString() @MaxLength(1_000) reason?: string;

  @ApiPropertyOptional({ description: 'environment / system_wide: restore to this time instead of switching flags off' })
  @IsOptionalNotNull()
  @IsISO8601({ strict: true })
  as_of?: string;

  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: keyMessage('each of environments') })
  environments?: string[];
}

export class CancelRollbackDto {
  @IsOptionalNotNull() @IsString() @MaxLength(1_000) reason?: string;
}

/** POST /feature-flags/{id}/rollback: the seed's rollback_feature_flag(flag_id, rolled_back_by, reason). */
export class FlagRollbackDto {
  @IsOptionalNotNull() @IsString() @MaxLength(200) rolled_back_by?: string;
  @IsOptionalNotNull() @IsString() @MaxLength(1_000) reason?: string;
}

export class ListRollbacksQueryDto {
  @IsOptionalNotNull() @IsIn(EXECUTION_STATUSES) status?: ExecutionStatus;
  @IsOptionalNotNull() @IsIn(ROLLBACK_TYPES) type?: RollbackType;
  @IsOptionalNotNull() @IsIn(ROLLBACK_SCOPES) scope?: RollbackScope;
  @IsOptionalNotNull() @Matches(KEY_PATTERN, { message: keyMessage('target_id') }) target_id?: string;
  @IsOptionalNotNull() @Matches(KEY_PATTERN, { message: keyMessage('plan_id') }) plan_id?: string;
  @IsOptionalNotNull() @IsISO8601({ strict: true }) since?: string;
  @IsOptionalNotNull() @IsISO8601({ strict: true }) until?: string;
  @IsOptionalNotNull() @ToNumber() @IsInt() @Min(1) @Max(MAX_PAGE_SIZE) limit?: number;
}

export class ListPlansQueryDto {
  @IsOptionalNotNull() @IsIn(ROLLBACK_SCOPES) scope?: RollbackScope;
  @IsOptionalNotNull() @Matches(KEY_PATTERN, { message: keyMessage('target_id') }) target_id?: string;
  @IsOptionalNotNull() @IsIn(ROLLBACK_TYPES) rollback_type?: RollbackType;
  @IsOptionalNotNull() @IsIn(['active', 'archived']) status?: 'active' | 'archived';
}

export class RollbackMetricsQueryDto {
  @IsOptionalNotNull() @IsISO8601({ strict: true }) since?: string;
  @IsOptionalNotNull() @IsISO8601({ strict: true }) until?: string;
}
