import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ToNumber } from '#rollgate/platform';
import { AUDIT_CURSOR_PATTERN, KEY_PATTERN, MAX_PAGE_SIZE } from '#rollgate/contracts';

export const DEFAULT_AUDIT_LIMIT = 100;

/** The filters and paging every audit route shares: who, when, how many, from where. */
export class AuditWindowDto {
  @ApiPropertyOptional({ description: 'Principal id that made the change' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  actor?: string;

  @ApiPropertyOptional({ description: 'ISO-8601, inclusive' })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @ApiPropertyOptional({ description: 'ISO-8601, exclusive' })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  @ApiPropertyOptional({ default: DEFAULT_AUDIT_LIMIT, minimum: 1, maximum: MAX_PAGE_SIZE })
  @IsOptional()
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page (opaque)' })
  @IsOptional()
  @Matches(AUDIT_CURSOR_PATTERN, { message: 'cursor must be the next_cursor of a previous page' })
  cursor?: string;
}

/** GET /api/v1/audit: the audit window, optionally one flag's. */
export class AuditQueryDto extends AuditWindowDto {
  @ApiPropertyOptional({ enum: ['flags', 'rollback'], default: 'flags', description: "flags: flag and segment changes (a rollback's carry its execution id as correlation_id); rollback: plans and executions" })
  @IsOptional()
  @IsIn(['flags', 'rollback'])
  source?: 'flags' | 'rollback';

  @ApiPropertyOptional({ description: 'Flag key' })
  @IsOptional()
  @Matches(KEY_PATTERN, { message: `key must match ${KEY_PATTERN.source}` })
  key?: string;
}
