import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditEntry } from '#rollgate/contracts';
import { READ_ROLES, type Principal } from '../auth/principal.js';
import { CurrentPrincipal, Roles } from '../auth/roles.decorator.js';
import { FlagsClient } from '../bus/flags.client.js';
import { toSnakeCase } from '../http/json-case.js';
import { AuditQueryDto, DEFAULT_AUDIT_LIMIT } from './audit.dto.js';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(private readonly flags: FlagsClient) {}

  /**
   * Pages in log order: the query asks for one entry more than the limit to know whether another page
   * exists; `next_cursor` is the global position of the last entry returned.
   */
  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Audit trail (filters key, actor, since, until; pages by cursor)' })
  async audit(@Query() query: AuditQueryDto, @CurrentPrincipal() principal: Principal) {
    const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
    const payload = {
      ...(query.key === undefined ? {} : { key: query.key }),
      ...(query.actor === undefined ? {} : { actor: query.actor }),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...(query.until === undefined ? {} : { until: query.until }),
      ...(query.cursor === undefined ? {} : { after: query.cursor }),
      limit: limit + 1,
    };
    const result = await this.flags.query<AuditEntry[] | { entries: AuditEntry[] }>('audit', payload, { actor: principal.id });
    const all = Array.isArray(result) ? result : result.entries;
    const entries = all.slice(0, limit);
    const last = entries[entries.length - 1];
    return { entries: toSnakeCase(entries), next_cursor: all.length > limit && last !== undefined ? last.globalPosition : null };
  }
}
