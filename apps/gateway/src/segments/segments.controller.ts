import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsObject, IsString, MaxLength } from 'class-validator';
import { FLAG_COMMANDS, FLAG_ERROR_CODES } from '#rollgate/contracts';
import type { Segment } from '#rollgate/evaluation';
import { NotFoundError, currentCorrelationId } from '#rollgate/platform';
import { IsOptionalNotNull } from '../http/optional.js';
import { DEFINE_ROLES, READ_ROLES, type Principal } from '../auth/principal.js';
import { CurrentPrincipal, Roles } from '../auth/roles.decorator.js';
import { Command, withReason, type CommandContext } from '../bus/command-context.js';
import { FlagsClient } from '../bus/flags.client.js';
import { toCamelCase, toSnakeCase } from '../http/json-case.js';
import { KeyParamPipe } from '../http/key-param.pipe.js';

export class DefineSegmentDto {
  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(2_000)
  description?: string;

  @ApiProperty({ type: [Object], description: 'All must hold: {attribute, operator, values, negate?, case_insensitive?}' })
  @IsArray()
  @ArrayMaxSize(1_000)
  @IsObject({ each: true })
  conditions!: Record<string, unknown>[];

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

@ApiTags('segments')
@ApiBearerAuth()
@Controller('segments')
export class SegmentsController {
  constructor(private readonly flags: FlagsClient) {}

  @Get(':key')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'A reusable segment' })
  async get(@Param('key', KeyParamPipe) key: string, @CurrentPrincipal() _principal: Principal) {
    const segments = await this.flags.query<Segment[]>('segments', { key }, { correlationId: currentCorrelationId() });
    const segment = segments.find((s) => s.key === key);
    if (segment === undefined) throw new NotFoundError(`segment ${key} does not exist`, { code: FLAG_ERROR_CODES.segmentNotFound, details: { key } });
    return toSnakeCase(segment);
  }

  @Put(':key')
  @Roles(...DEFINE_ROLES)
  @ApiOperation({ summary: 'Define or redefine a segment (If-Match: its version)' })
  async define(@Param('key', KeyParamPipe) key: string, @Body() body: DefineSegmentDto, @Command() ctx: CommandContext) {
    const segment = toCamelCase<Segment>({
      key,
      conditions: body.conditions,
      ...(body.name === undefined ? {} : { name: body.name }),
      ...(body.description === undefined ? {} : { description: body.description }),
    });
    // Validated once, by the flags service's segment decider; its problem paths come back in snake_case.
    return toSnakeCase(await this.flags.command(FLAG_COMMANDS.defineSegment, { segment }, withReason(ctx, body.reason)));
  }
}
