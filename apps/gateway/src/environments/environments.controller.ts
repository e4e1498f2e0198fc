import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EVALUATE_ROLES, type Principal } from '../auth/principal.js';
import { CurrentPrincipal, Roles } from '../auth/roles.decorator.js';
import { FlagsClient } from '../bus/flags.client.js';
import { currentCorrelationId } from '#rollgate/platform';
import { toSnakeCase } from '../http/json-case.js';
import { KeyParamPipe } from '../http/key-param.pipe.js';

@ApiTags('environments')
@ApiBearerAuth()
@Controller('environments')
export class EnvironmentsController {
  constructor(private readonly flags: FlagsClient) {}

  @Get(':env/snapshot')
  @Roles(...EVALUATE_ROLES)
  @ApiOperation({ summary: 'Every flag and segment of an environment with the store position it reflects (read over the bus in pages)' })
  async snapshot(@Param('env', KeyParamPipe) environment: string, @CurrentPrincipal() _principal: Principal) {
    return toSnakeCase(await this.flags.snapshot(environment, { correlationId: currentCorrelationId() }));
  }
}
