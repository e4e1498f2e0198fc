import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { KEY_PATTERN, keyMessage, MAX_VERSION } from '#rollgate/contracts';
import { FLAG_TYPES, type FlagType } from '#rollgate/evaluation';
import { IsOptionalNotNull } from '../http/optional.js';
import { SeedRolloutFields, VariantDto } from './seed-rollout.dto.js';

/**
 * POST /feature-flags. Either the seed's simple call (`name`, `flag_type`, `rollout_strategy`,
 * `rollout_percentage`, `target_environments`, `user_ids`...) or the full model as `flag`; not both.
 */
export class CreateFeatureFlagDto extends SeedRolloutFields {
  @ApiPropertyOptional({ description: 'Full model form (snake_case FlagDefinition); excludes the simple fields' })
  @IsOptionalNotNull()
  @IsObject()
  flag?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'The flag key', example: 'auto_submit_enabled', pattern: KEY_PATTERN.source })
  @ValidateIf((dto: CreateFeatureFlagDto) => dto.flag === undefined || dto.name !== undefined)
  @Matches(KEY_PATTERN, { message: keyMessage('name') })
  name?: string;

  @ApiPropertyOptional({ description: 'Human-readable name (default: the key)' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(200)
  display_name?: string;

  @ApiPropertyOptional({ example: 'Enable automatic dispute submission' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(2_000)
  description?: string;

  @ApiPropertyOptional({ enum: FLAG_TYPES, default: 'boolean' })
  @IsOptionalNotNull()
  @IsIn(FLAG_TYPES)
  flag_type?: FlagType;

  @ApiPropertyOptional({ type: [String], example: ['production'] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: keyMessage('each of target_environments') })
  target_environments?: string[];

  @ApiPropertyOptional({ type: [VariantDto], description: 'Experiment flags only' })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => VariantDto)
  variants?: VariantDto[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  tags?: string[];

  @ApiPropertyOptional({
    description: 'OpenFeature flag metadata: flat string, number and boolean values (<= 32 keys, <= 4 KiB), returned with every evaluation',
    example: { team: 'checkout', ticket: 'RG-12' },
  })
  @IsOptionalNotNull()
  @IsObject()
  metadata?: Record<string, string | number | boolean>;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(200)
  owner?: string;

  @ApiPropertyOptional({ description: 'Why (audit trail); X-Rollgate-Reason header also works' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

/** PUT /feature-flags/{key}: every field optional; see docs/api.md for the commands each one becomes. */
export class UpdateFeatureFlagDto extends SeedRolloutFields {
  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(200)
  display_name?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(2_000)
  description?: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  tags?: string[];

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(200)
  owner?: string;

  @ApiPropertyOptional({
    description: 'OpenFeature flag metadata: flat string, number and boolean values (<= 32 keys, <= 4 KiB), returned with every evaluation',
    example: { team: 'checkout', ticket: 'RG-12' },
  })
  @IsOptionalNotNull()
  @IsObject()
  metadata?: Record<string, string | number | boolean>;

  @ApiPropertyOptional({ type: [VariantDto] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => VariantDto)
  variants?: VariantDto[];

  @ApiPropertyOptional({ type: [String], description: 'Enabled exactly in these; other environments switched off' })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: keyMessage('each of target_environments') })
  target_environments?: string[];

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class RevertFeatureFlagDto {
  @ApiPropertyOptional({ description: 'Restore this version (exactly one of to_version, as_of)' })
  @ValidateIf((dto: RevertFeatureFlagDto) => dto.as_of === undefined)
  @IsInt()
  @Min(1)
  @Max(MAX_VERSION)
  to_version?: number;

  @ApiPropertyOptional({ description: 'Restore the flag as it was at this ISO-8601 time' })
  @ValidateIf((dto: RevertFeatureFlagDto) => dto.to_version === undefined || dto.as_of !== undefined)
  @IsISO8601({ strict: true })
  as_of?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}
