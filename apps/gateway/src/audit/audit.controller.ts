import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditEntry, Page } from '#rollgate/contracts';
import { currentCorrelationId } from '#rollgate/platform';
import { READ_ROLES, type Principal } from '../auth/principal.js';
import { CurrentPrincipal, Roles } from '../auth/roles.decorator.js';
import { FlagsClient } from '../bus/flags.client.js';
import { RollbackClient } from '../bus/rollback.client.js';
import { toSnakeCase } from '../http/json-case.js';
import { AuditQueryDto, DEFAULT_AUDIT_LIMIT } from './audit.dto.js';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(
    private readonly flags: FlagsClient,
    private readonly rollbacks: RollbackClient,
  ) {}

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Audit trail, oldest first (filters key, actor, since, until; page on with cursor; source=rollback for rollback plans and executions)' })
  async audit(@Query() query: AuditQueryDto, @CurrentPrincipal() _principal: Principal) {
    const payload = {
      ...(query.key === undefined ? {} : { key: query.key }),
      ...(query.actor === undefined ? {} : { actor: query.actor }),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(query.cursor === undefined ? {} : { after: query.cursor }),
      limit: query.limit ?? DEFAULT_AUDIT_LIMIT,
    };
    if (query.source === 'rollback') {
      const { key, ...rest } = payload as Record<string, unknown>;
      const page = await this.rollbacks.query<Page<unknown>>('audit', { ...rest, ...(key === undefined ? {} : { id: key }) }, currentCorrelationId());
      return { entries: toSnakeCase(page.items), next_cursor: page.next };
    }
    const page = await this.flags.query<Page<AuditEntry>>('audit', payload, { correlationId: currentCorrelationId() });
    return { entries: toSnakeCase(page.items), next_cursor: page.next };
  }
}
