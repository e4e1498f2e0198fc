import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  Allow,
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { ANALYTICS_GRANULARITIES, FLAG_STATUSES, KEY_PATTERN, MAX_PAGE_SIZE, keyMessage, MAX_VERSION } from '#rollgate/contracts';
import { ToNumber } from '#rollgate/platform';
import { type JsonValue } from '#rollgate/evaluation';

export class ListFeatureFlagsQueryDto {
  @ApiPropertyOptional({ example: 'production' })
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
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
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
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

export class HistoryQueryDto {
  @ApiPropertyOptional({ description: 'First version to return (next_from_version of the previous page)' })
  @IsOptional()
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(MAX_VERSION)
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
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment?: string;

  @ApiPropertyOptional({ enum: ANALYTICS_GRANULARITIES })
  @IsOptional()
  @IsIn(ANALYTICS_GRANULARITIES)
  granularity?: (typeof ANALYTICS_GRANULARITIES)[number];
}

/** `GET /feature-flags/{key}/outcomes`: the same window and filters as analytics. */
export class OutcomesQueryDto extends AnalyticsQueryDto {}
