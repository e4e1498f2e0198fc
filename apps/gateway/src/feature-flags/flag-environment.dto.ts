import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsObject,
  IsString,
  MaxLength,
} from 'class-validator';
import { MAX_USER_LIST_DELTA } from '#rollgate/contracts';
import { IsOptionalNotNull } from '../http/optional.js';
import { SeedRolloutFields } from './seed-rollout.dto.js';

export class ToggleOrConfigureEnvironmentDto {
  @ApiProperty()
  @IsBoolean()
  enabled!: boolean;

  @ApiPropertyOptional({ description: 'Full config: the default rollout (model form, e.g. {"type":"percentage","ppm":100000})' })
  @IsOptionalNotNull()
  @IsObject()
  default_rollout?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Full config: ordered rules (model form)', type: [Object] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(1_000)
  @IsObject({ each: true })
  rules?: Record<string, unknown>[];

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ChangeRolloutDto extends SeedRolloutFields {
  @ApiPropertyOptional({ description: 'Model form, e.g. {"type":"gradual","from":0,"to":500000,"start":…,"end":…}' })
  @IsOptionalNotNull()
  @IsObject()
  rollout?: Record<string, unknown>;

  @ApiPropertyOptional({ description: "Change this rule's rollout instead of the default" })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(100)
  rule_id?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
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
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ChangeUsersDto {
  @ApiPropertyOptional({ type: [String] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  add?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_USER_LIST_DELTA)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  remove?: string[];

  @ApiPropertyOptional({ description: "A rule's user list instead of the default rollout's" })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(100)
  rule_id?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}
