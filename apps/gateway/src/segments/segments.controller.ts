import { Body, Controller, Get, Param, Patch, Put } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsObject, IsString, Length, MaxLength } from 'class-validator';
import { FLAG_ERROR_CODES, type SegmentView } from '#rollgate/contracts';
import { MAX_MEMBER_LENGTH, MAX_SEGMENT_MEMBERS, type Segment } from '#rollgate/evaluation';
import { NotFoundError, currentCorrelationId } from '#rollgate/platform';
import { IsOptionalNotNull } from '../http/optional.js';
import { DEFINE_ROLES, READ_ROLES, type Principal } from '../auth/principal.js';
import { CurrentPrincipal, Roles } from '../auth/roles.decorator.js';
import { Command, withReason, type CommandContext } from '../bus/command-context.js';
import { FlagsClient } from '../bus/flags.client.js';
import { toCamelCase, toSnakeCase } from '../http/json-case.js';
import { KeyParamPipe } from '../http/key-param.pipe.js';
import { LIST_BODY_LIMIT_BYTES } from '../http/body-limits.js';
import { MemberLists } from './member-lists.js';

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

  @ApiPropertyOptional({ description: 'Makes the segment a member list matched on this context attribute (e.g. user_id → "userId")' })
  @IsOptionalNotNull()
  @IsString()
  @Length(1, 200)
  member_attribute?: string;

  @ApiPropertyOptional({ type: [String], description: `A member list's members, up to ${MAX_SEGMENT_MEMBERS}; absent keeps the current ones` })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_SEGMENT_MEMBERS)
  @IsString({ each: true })
  @Length(1, MAX_MEMBER_LENGTH, { each: true })
  members?: string[];

  @ApiPropertyOptional()
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(1_000)
  reason?: string;
}

export class ChangeMembersDto {
  @ApiPropertyOptional({ type: [String] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_SEGMENT_MEMBERS)
  @IsString({ each: true })
  @Length(1, MAX_MEMBER_LENGTH, { each: true })
  add?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_SEGMENT_MEMBERS)
  @IsString({ each: true })
  @Length(1, MAX_MEMBER_LENGTH, { each: true })
  remove?: string[];

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
  constructor(
    private readonly flags: FlagsClient,
    private readonly lists: MemberLists,
  ) {}

  @Get(':key')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'A reusable segment; a member list with all its members and member_count' })
  async get(@Param('key', KeyParamPipe) key: string, @CurrentPrincipal() _principal: Principal) {
    const context = { correlationId: currentCorrelationId() };
    const segments = await this.flags.query<SegmentView[]>('segments', { key }, context);
    const segment = segments.find((s) => s.key === key);
    if (segment === undefined) throw new NotFoundError(`segment ${key} does not exist`, { code: FLAG_ERROR_CODES.segmentNotFound, details: { key } });
    if (segment.memberAttribute === undefined) return toSnakeCase(segment);
    // Members come a page at a time over the bus (a list of 100 000 is larger than one message).
    return { ...toSnakeCase<Record<string, unknown>>(segment), members: await this.flags.segmentMembers(key, context) };
  }

  @Put(':key')
  @Roles(...DEFINE_ROLES)
  @RouteConfig({ bodyLimit: LIST_BODY_LIMIT_BYTES })
  @ApiOperation({ summary: 'Define or redefine a segment (If-Match: its version); a member list with member_attribute and members' })
  async define(@Param('key', KeyParamPipe) key: string, @Body() body: DefineSegmentDto, @Command() ctx: CommandContext) {
    const segment = toCamelCase<Omit<Segment, 'version' | 'members'>>({
      key,
      conditions: body.conditions,
      ...(body.name === undefined ? {} : { name: body.name }),
      ...(body.description === undefined ? {} : { description: body.description }),
    });
    if (body.member_attribute !== undefined) segment.memberAttribute = body.member_attribute;
    // Validated once, by the flags service's segment decider; its problem paths come back in snake_case.
    return toSnakeCase(await this.lists.define(segment, body.members, withReason(ctx, body.reason)));
  }

  @Patch(':key/members')
  @Roles(...DEFINE_ROLES)
  @RouteConfig({ bodyLimit: LIST_BODY_LIMIT_BYTES })
  @ApiOperation({ summary: "Add / remove a member list's members (deltas; removals first)" })
  async members(@Param('key', KeyParamPipe) key: string, @Body() body: ChangeMembersDto, @Command() ctx: CommandContext) {
    return toSnakeCase(await this.lists.change(key, body.add ?? [], body.remove ?? [], withReason(ctx, body.reason)));
  }
}
