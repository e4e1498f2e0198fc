import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { KEY_PATTERN, MAX_PAGE_SIZE } from '#rollgate/contracts';
import { ToNumber } from '#rollgate/platform';
import { AuditWindowDto } from '../audit/audit.dto.js';
import { ROLES, type Role } from '../auth/principal.js';
import { IsOptionalNotNull } from '../http/optional.js';
import { TOKEN_MAX_LIFETIME_SECONDS, TOKEN_NAME_MAX } from './api-token.decider.js';
import { TOKEN_ID_PATTERN } from './api-token.secret.js';

export const TOKEN_STATUSES = ['active', 'expired', 'revoked'] as const;
export const DEFAULT_TOKEN_PAGE = 100;
const POSITION_CURSOR = /^[0-9]{1,19}$/;

/** POST /api/v1/tokens. The issuing principal comes from the bearer token; there is no field for it. */
export class IssueApiTokenDto {
  @ApiProperty({ maxLength: TOKEN_NAME_MAX, example: 'ci-pipeline' })
  @IsString()
  @Length(1, TOKEN_NAME_MAX)
  name!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role!: Role;

  @ApiPropertyOptional({ description: `Lifetime in seconds (1 to ${TOKEN_MAX_LIFETIME_SECONDS}); not with expires_at` })
  @IsOptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(TOKEN_MAX_LIFETIME_SECONDS)
  expires_in?: number;

  @ApiPropertyOptional({ description: 'ISO-8601, in the future; not with expires_in. Neither: never expires' })
  @IsOptionalNotNull()
  @IsISO8601({ strict: true })
  expires_at?: string;

  @ApiPropertyOptional({ description: 'Only for role client: the one environment it may evaluate (OFREP, evaluate, snapshot). Absent: every environment', example: 'production' })
  @IsOptionalNotNull()
  @Matches(KEY_PATTERN, { message: `environment must match ${KEY_PATTERN.source}` })
  environment?: string;

  @ApiPropertyOptional({ description: 'Why (audit trail); X-Rollgate-Reason otherwise' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ListApiTokensQueryDto {
  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES, { message: `role must be one of ${ROLES.join(', ')}` })
  role?: Role;

  @ApiPropertyOptional({ enum: TOKEN_STATUSES })
  @IsOptional()
  @IsIn(TOKEN_STATUSES, { message: `status must be one of ${TOKEN_STATUSES.join(', ')}` })
  status?: (typeof TOKEN_STATUSES)[number];

  @ApiPropertyOptional({ default: DEFAULT_TOKEN_PAGE, minimum: 1, maximum: MAX_PAGE_SIZE })
  @IsOptional()
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page (opaque)' })
  @IsOptional()
  @Matches(POSITION_CURSOR, { message: 'cursor must be the next_cursor of a previous page' })
  cursor?: string;
}

/** GET /api/v1/audit/tokens: the filters and paging of GET /api/v1/audit, `key` being a token id. */
export class ApiTokenAuditQueryDto extends AuditWindowDto {
  @ApiPropertyOptional({ description: 'Token id' })
  @IsOptional()
  @Matches(TOKEN_ID_PATTERN, { message: `key must be a token id (${TOKEN_ID_PATTERN.source})` })
  key?: string;
}
