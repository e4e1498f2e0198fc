import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  Allow,
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { KEY_PATTERN, MAX_USER_LIST_DELTA, ROLLOUT_STRATEGIES, keyMessage, type RolloutStrategy } from '#rollgate/contracts';
import { PPM_MAX, type JsonValue } from '#rollgate/evaluation';
import { IsOptionalNotNull } from '../http/optional.js';

export { DEFAULT_GRADUAL_HOURS, ROLLOUT_STRATEGIES, type RolloutStrategy } from '#rollgate/contracts';

/** Environments every flag created in the simple form has (targeted ones are added). */
export const KNOWN_ENVIRONMENTS = ['development', 'staging', 'production'] as const;

export class VariantDto {
  @ApiProperty({ example: 'treatment', pattern: KEY_PATTERN.source })
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
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
  @IsOptionalNotNull()
  @IsIn(ROLLOUT_STRATEGIES)
  rollout_strategy?: RolloutStrategy;

  @ApiPropertyOptional({ minimum: 0, maximum: 100, example: 10, description: 'Percent of users, resolution 0.0001' })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(100)
  rollout_percentage?: number;

  @ApiPropertyOptional({ type: [String], description: 'User ids (the user_list strategy, or always-on users)' })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  user_ids?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Alias of user_ids' })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  target_users?: string[];

  @ApiPropertyOptional({ description: 'gradual: ramp length in hours (default 24)', example: 24 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.001)
  @Max(24 * 366)
  gradual_duration_hours?: number;

  @ApiPropertyOptional({ description: 'gradual: number of equal steps (absent: continuous)', example: 4 })
  @IsOptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(10_000)
  gradual_steps?: number;

  @ApiPropertyOptional({ description: 'gradual: ramp start (default now), ISO-8601' })
  @IsOptionalNotNull()
  @IsISO8601({ strict: true })
  gradual_start?: string;
}
