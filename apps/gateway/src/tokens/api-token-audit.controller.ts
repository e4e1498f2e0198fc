import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator.js';
import { ApiTokenAuditQueryDto } from './api-token.dto.js';
import { ApiTokenQueries } from './api-token.query.js';

/** The token events (issued, revoked, by whom) in the entry shape and paging of GET /api/v1/audit. Admin only. */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('admin')
@Controller('audit/tokens')
export class ApiTokenAuditController {
  constructor(private readonly queries: ApiTokenQueries) {}

  @Get()
  @ApiOperation({
    summary: 'Token audit trail, oldest first (filters key = token id, actor, since, until; page on with cursor)',
  })
  audit(@Query() query: ApiTokenAuditQueryDto) {
    return this.queries.audit(query);
  }
}
