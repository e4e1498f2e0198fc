import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { currentCorrelationId, ValidationError } from '#rollgate/platform';
import { EVALUATE_ROLES, READ_ROLES, assertMayUse, type Principal } from '../auth/principal.js';
import { CurrentPrincipal, Roles } from '../auth/roles.decorator.js';
import { FlagsClient } from '../bus/flags.client.js';
import { READ_AFTER_HEADER, assertEnvironment, parseReadAfter } from '../edge/edge-request.js';
import { etagMatches } from '../edge/environment-payload.js';
import { EnvironmentStates } from '../edge/environment-states.js';
import { toSnakeCase } from '../http/json-case.js';
import { KeyParamPipe } from '../http/key-param.pipe.js';

const SOURCES = ['gateway', 'flags-service'];

@ApiTags('environments')
@ApiBearerAuth()
@Controller('environments')
export class EnvironmentsController {
  constructor(
    private readonly flags: FlagsClient,
    private readonly states: EnvironmentStates,
  ) {}

  @Get(':env/snapshot')
  @Roles(...EVALUATE_ROLES)
  @ApiOperation({
    summary: "Every flag and segment of an environment with the store position it reflects, from the gateway's memory (ETag; If-None-Match → 304)",
  })
  @ApiQuery({ name: 'source', required: false, enum: SOURCES, description: 'flags-service: read through to the flags service (readers and up)' })
  @ApiHeader({ name: 'Rollgate-Read-After', required: false, description: '<flag key>@<version>, …: wait until the gateway holds these versions' })
  @ApiResponse({ status: 304, description: 'If-None-Match names the current ETag: the flags did not change' })
  async snapshot(
    @Param('env', KeyParamPipe) environment: string,
    @Query('source') source: unknown,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Headers(READ_AFTER_HEADER) readAfter: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    assertEnvironment(principal, environment);
    if (source !== undefined && !SOURCES.includes(source as string)) {
      throw ValidationError.of([{ path: 'source', message: `must be one of ${SOURCES.join(', ')}` }]);
    }
    if (source === 'flags-service') {
      assertMayUse(principal, READ_ROLES, 'read the flags service directly');
      return toSnakeCase(await this.flags.snapshot(environment, { correlationId: currentCorrelationId() }));
    }
    const versions = parseReadAfter(readAfter);
    const state = (versions.length === 0 ? this.states.readyNow(environment) : undefined) ?? (await this.states.readAfter(environment, versions));
    const payload = state.payload();
    void reply.header('etag', payload.etag).header('cache-control', 'no-cache').type('application/json');
    if (etagMatches(ifNoneMatch, payload.etag)) {
      void reply.code(304);
      return '';
    }
    return payload.body;
  }
}
