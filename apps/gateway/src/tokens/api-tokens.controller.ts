import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Injectable,
  Param,
  Post,
  Query,
  Res,
  type ArgumentMetadata,
  type PipeTransform,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ValidationError } from '#rollgate/platform';
import { Roles } from '../auth/roles.decorator.js';
import { Command, withReason, type CommandContext } from '../bus/command-context.js';
import { IssueApiTokenDto, ListApiTokensQueryDto } from './api-token.dto.js';
import { ApiTokenQueries } from './api-token.query.js';
import { TOKEN_ID_PATTERN } from './api-token.secret.js';
import { ApiTokenService } from './api-token.service.js';

/** A token id in the path: 16 hex digits, else 400 before anything is read. */
@Injectable()
class TokenIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value === 'string' && TOKEN_ID_PATTERN.test(value)) return value;
    const name = metadata.data ?? 'id';
    throw ValidationError.of([{ path: name, message: `must be a token id (${TOKEN_ID_PATTERN.source})` }]);
  }
}

/**
 * /api/v1/tokens, admin only: issue (the secret is in this one answer), list, get, revoke. The issuing or
 * revoking principal is the bearer token's; no body field names one.
 */
@ApiTags('tokens')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'GENERIC.UNAUTHORIZED' })
@ApiResponse({ status: 403, description: 'GENERIC.FORBIDDEN: admin only' })
@Roles('admin')
@Controller('tokens')
export class ApiTokensController {
  constructor(
    private readonly tokens: ApiTokenService,
    private readonly queries: ApiTokenQueries,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Issue an API token for a role; `token` (the secret) is shown in this answer only' })
  @ApiResponse({
    status: 201,
    description: 'Issued; a repeated Idempotency-Key answers the token without `token`, duplicate: true',
  })
  @ApiResponse({
    status: 400,
    description: 'GENERIC.VALIDATION: unknown role, name too long, expiry in the past, both expiries',
  })
  async issue(
    @Body() body: IssueApiTokenDto,
    @Command() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const issued = await this.tokens.issue(
      {
        name: body.name,
        role: body.role,
        ...(body.expires_in === undefined ? {} : { expiresInSeconds: body.expires_in }),
        ...(body.expires_at === undefined ? {} : { expiresAt: body.expires_at }),
        ...(body.environment === undefined ? {} : { environment: body.environment }),
      },
      withReason(ctx, body.reason),
    );
    void reply.header('location', `/api/v1/tokens/${issued.token.id}`).header('cache-control', 'no-store');
    const token = await this.queries.get(issued.token.id);
    return issued.secret === undefined
      ? { ...token, duplicate: true }
      : { ...token, token: issued.secret, duplicate: false };
  }

  @Get()
  @ApiOperation({
    summary:
      'Tokens in the order issued: id, name, role, prefix, status, created, expiry, last use, who issued and revoked',
  })
  list(@Query() query: ListApiTokensQueryDto) {
    return this.queries.list(query);
  }

  @Get(':id')
  @ApiResponse({ status: 404, description: 'TOKENS.NOT_FOUND' })
  get(@Param('id', TokenIdPipe) id: string) {
    return this.queries.get(id);
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Revoke: refused from the next request on (401). Idempotent: revoking again changes nothing',
  })
  @ApiResponse({ status: 404, description: 'TOKENS.NOT_FOUND' })
  async revoke(@Param('id', TokenIdPipe) id: string, @Command() ctx: CommandContext) {
    await this.tokens.revoke(id, ctx);
    return this.queries.get(id);
  }
}
