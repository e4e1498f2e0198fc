import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CANARY_COMMANDS,
  CANARY_QUERIES,
  type CanaryCommandResult,
  type CanaryHistory,
  type CanaryList,
  type CanaryMetrics,
  type CanaryView,
  type CreateCanaryPayload,
} from '#rollgate/contracts';
import { currentCorrelationId } from '#rollgate/platform';
import { OPERATE_ROLES, READ_ROLES } from '../auth/principal.js';
import { Roles } from '../auth/roles.decorator.js';
import { CanaryClient } from '../bus/canary.client.js';
import { Command, withReason, type CommandContext } from '../bus/command-context.js';
import { pathToSnakeCase, toCamelCase, toSnakeCase } from '../http/json-case.js';
import { KeyParamPipe } from '../http/key-param.pipe.js';
import {
  AbortCanaryDto,
  CanaryMetricsQueryDto,
  CreateCanaryDeploymentDto,
  ListCanariesQueryDto,
  PauseCanaryDto,
  PromoteCanaryDto,
  ResumeCanaryDto,
  RollbackCanaryDto,
  StartCanaryDto,
  StartFlagCanaryDto,
} from './canary.dto.js';
import { presentCanary, presentCanaryResult, presentMetrics } from './canary.presenter.js';

/** The bus names the flag `flagKey`; the HTTP body, after the seed, `feature_flag_id`. */
const pathToHttp = (path: string): string => pathToSnakeCase(path.replace(/^flagKey\b/, 'featureFlagId'));

/** A sub-command of one HTTP request (create then start): its own command id, derived, so the request's key replays both. */
const step = (ctx: CommandContext, name: string): CommandContext => {
  const { requestHash: _hash, ...rest } = ctx;
  return { ...rest, commandId: `${ctx.commandId}:${name}` };
};

/**
 * The seed's create payload (snake_case) as the bus's CreateCanaryPayload: criteria keys are renamed, their
 * values and unknown keys are the canary service's to judge.
 */
function createPayload(body: Omit<CreateCanaryDeploymentDto, 'start' | 'reason'>): CreateCanaryPayload {
  const { feature_flag_id, ...rest } = body;
  return { flagKey: feature_flag_id, ...toCamelCase<Omit<CreateCanaryPayload, 'flagKey'>>(rest) };
}

/**
 * /api/v1/canary-deployments: translation only. DTOs validate, CanaryClient carries commands and queries to the
 * canary service, the presenter answers in snake_case. Operators run canaries; readers read them.
 */
@ApiTags('canary-deployments')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'GENERIC.UNAUTHORIZED: missing or invalid bearer token' })
@Controller('canary-deployments')
export class CanariesController {
  constructor(private readonly canaries: CanaryClient) {}

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List canary deployments (filter by flag, status, active)' })
  async list(@Query() query: ListCanariesQueryDto) {
    const { feature_flag_id, ...rest } = query;
    const { canaries } = await this.canaries.query<CanaryList>(
      CANARY_QUERIES.list,
      { ...(feature_flag_id === undefined ? {} : { flagKey: feature_flag_id }), ...rest },
      currentCorrelationId(),
    );
    const list = canaries.map(presentCanary);
    return { canary_deployments: list, count: list.length };
  }

  @Post()
  @Roles(...OPERATE_ROLES)
  @ApiOperation({
    summary: "Create a canary deployment (the seed's fields); `start: true` starts it in the same request",
  })
  @ApiResponse({
    status: 201,
    description: 'Created (a repeated Idempotency-Key returns the first result, duplicate: true)',
  })
  @ApiResponse({
    status: 400,
    description: 'GENERIC.VALIDATION with details.problems (percentages outside 1–50, durations, criteria)',
  })
  @ApiResponse({ status: 404, description: 'CANARY.FLAG_NOT_FOUND' })
  @ApiResponse({ status: 409, description: 'CANARY.ACTIVE_CANARY_EXISTS, CANARY.FLAG_ARCHIVED' })
  async create(@Body() body: CreateCanaryDeploymentDto, @Command() ctx: CommandContext) {
    const { start, reason, ...fields } = body;
    const context = withReason(ctx, reason);
    const created = await this.canaries.command<CanaryCommandResult>(
      CANARY_COMMANDS.create,
      createPayload(fields),
      start ? step(context, 'create') : context,
      pathToHttp,
    );
    if (!start) return presentCanaryResult(created);
    const started = await this.canaries.command<CanaryCommandResult>(
      CANARY_COMMANDS.start,
      { id: created.canary.id },
      step(context, 'start'),
    );
    return presentCanaryResult({ ...started, duplicate: created.duplicate && started.duplicate });
  }

  @Get(':id')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'A canary now: status, stage, cohorts, and each test of the judge (log e-value and level)' })
  @ApiResponse({ status: 404, description: 'CANARY.NOT_FOUND' })
  async get(@Param('id', KeyParamPipe) id: string) {
    return presentCanary(await this.canaries.query<CanaryView>(CANARY_QUERIES.get, { id }, currentCorrelationId()));
  }

  @Post(':id/start')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: "Start: records the flag's state, then applies the first stage" })
  @ApiResponse({
    status: 409,
    description: 'CANARY.INVALID_STATE, CANARY.FLAG_CONFLICT (the flag changed meanwhile; nothing applied)',
  })
  async start(@Param('id', KeyParamPipe) id: string, @Body() body: StartCanaryDto, @Command() ctx: CommandContext) {
    const payload = body.started_by === undefined ? { id } : { id, startedBy: body.started_by };
    return presentCanaryResult(
      await this.canaries.command(CANARY_COMMANDS.start, payload, withReason(ctx, body.reason)),
    );
  }

  @Post(':id/promote')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'Promote to full rollout: needs the SAFE certificate, or override: true (recorded)' })
  @ApiResponse({ status: 409, description: 'CANARY.PROMOTION_CONFLICT (not certified), CANARY.INVALID_STATE' })
  async promote(@Param('id', KeyParamPipe) id: string, @Body() body: PromoteCanaryDto, @Command() ctx: CommandContext) {
    const payload = {
      id,
      ...(body.promoted_by === undefined ? {} : { promotedBy: body.promoted_by }),
      ...(body.override === undefined ? {} : { override: body.override }),
    };
    return presentCanaryResult(
      await this.canaries.command(CANARY_COMMANDS.promote, payload, withReason(ctx, body.reason)),
    );
  }

  @Post(':id/rollback')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({
    summary: 'Roll back: the flag restored exactly to its state before the canary (also after promotion)',
  })
  async rollback(
    @Param('id', KeyParamPipe) id: string,
    @Body() body: RollbackCanaryDto,
    @Command() ctx: CommandContext,
  ) {
    const payload = body.rolled_back_by === undefined ? { id } : { id, rolledBackBy: body.rolled_back_by };
    return presentCanaryResult(
      await this.canaries.command(CANARY_COMMANDS.rollback, payload, withReason(ctx, body.reason)),
    );
  }

  @Post(':id/abort')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'Abort: a created canary is cancelled; a running one restores its flag and ends cancelled' })
  async abort(@Param('id', KeyParamPipe) id: string, @Body() body: AbortCanaryDto, @Command() ctx: CommandContext) {
    return presentCanaryResult(
      await this.canaries.command(CANARY_COMMANDS.abort, { id }, withReason(ctx, body.reason)),
    );
  }

  @Post(':id/pause')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({
    summary:
      'Pause a running canary: the flag stays where it is, the judge decides nothing, the stage clock and the deadline stop',
  })
  @ApiResponse({
    status: 409,
    description: 'CANARY.INVALID_STATE: the canary is not running (finished, already paused)',
  })
  async pause(@Param('id', KeyParamPipe) id: string, @Body() body: PauseCanaryDto, @Command() ctx: CommandContext) {
    const payload = body.paused_by === undefined ? { id } : { id, pausedBy: body.paused_by };
    return presentCanaryResult(
      await this.canaries.command(CANARY_COMMANDS.pause, payload, withReason(ctx, body.reason)),
    );
  }

  @Post(':id/resume')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({
    summary: "Resume an operator's pause: judging goes on, the stage's time and the deadline moved on by the pause",
  })
  @ApiResponse({
    status: 409,
    description:
      'CANARY.INVALID_STATE: the canary is not paused by an operator (running, finished, held by a regression)',
  })
  async resume(@Param('id', KeyParamPipe) id: string, @Body() body: ResumeCanaryDto, @Command() ctx: CommandContext) {
    const payload = body.resumed_by === undefined ? { id } : { id, resumedBy: body.resumed_by };
    return presentCanaryResult(
      await this.canaries.command(CANARY_COMMANDS.resume, payload, withReason(ctx, body.reason)),
    );
  }

  @Get(':id/metrics')
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary:
      'Per cohort over [start_time, end_time): requests, errors, error rate, latency percentiles, throughput; the judge now, and the expected time to detect a 2× regression at this traffic',
  })
  async metrics(@Param('id', KeyParamPipe) id: string, @Query() query: CanaryMetricsQueryDto) {
    const request = {
      id,
      ...(query.start_time === undefined ? {} : { since: query.start_time }),
      ...(query.end_time === undefined ? {} : { until: query.end_time }),
    };
    return presentMetrics(
      await this.canaries.query<CanaryMetrics>(CANARY_QUERIES.metrics, request, currentCorrelationId()),
    );
  }

  @Get(':id/history')
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: "The canary's events: every decision with its evidence, who asked for what, each flag change",
  })
  async history(@Param('id', KeyParamPipe) id: string) {
    const history = await this.canaries.query<CanaryHistory>(CANARY_QUERIES.history, { id }, currentCorrelationId());
    return { id: history.id, entries: history.entries.map((entry) => toSnakeCase(entry)) };
  }
}

/** The seed's flag shortcuts: POST /feature-flags/{id}/canary and /promote, on the flag's canary. */
@ApiTags('canary-deployments')
@ApiBearerAuth()
@Controller('feature-flags')
export class FlagCanaryController {
  constructor(private readonly canaries: CanaryClient) {}

  @Post(':key/canary')
  @Roles(...OPERATE_ROLES)
  @ApiOperation({
    summary: 'Start a percentage canary of the flag (canary_percentage, monitoring_duration_hours): create and start',
  })
  @ApiResponse({ status: 201, description: 'Created and started' })
  async canary(
    @Param('key', KeyParamPipe) key: string,
    @Body() body: StartFlagCanaryDto,
    @Command() ctx: CommandContext,
  ) {
    const { canary_percentage, name, started_by, reason, ...options } = body;
    const context = withReason(ctx, reason);
    const payload: CreateCanaryPayload = {
      flagKey: key,
      name: name ?? `${key} canary`,
      strategy: 'percentage',
      ...(canary_percentage === undefined ? {} : { targetPercentage: canary_percentage }),
      ...toCamelCase<Partial<CreateCanaryPayload>>(options),
    };
    const renamed = (path: string): string => pathToSnakeCase(path.replace(/^targetPercentage\b/, 'canaryPercentage'));
    const created = await this.canaries.command<CanaryCommandResult>(
      CANARY_COMMANDS.create,
      payload,
      step(context, 'create'),
      renamed,
    );
    const start = { id: created.canary.id, ...(started_by === undefined ? {} : { startedBy: started_by }) };
    const started = await this.canaries.command<CanaryCommandResult>(
      CANARY_COMMANDS.start,
      start,
      step(context, 'start'),
    );
    return presentCanaryResult({ ...started, duplicate: created.duplicate && started.duplicate });
  }

  @Post(':key/promote')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({
    summary: "Promote the flag's active canary to full rollout (promoted_by; override: true without the certificate)",
  })
  @ApiResponse({ status: 404, description: 'CANARY.NOT_FOUND: the flag has no active canary' })
  async promote(
    @Param('key', KeyParamPipe) key: string,
    @Body() body: PromoteCanaryDto,
    @Command() ctx: CommandContext,
  ) {
    const payload = {
      flagKey: key,
      ...(body.promoted_by === undefined ? {} : { promotedBy: body.promoted_by }),
      ...(body.override === undefined ? {} : { override: body.override }),
    };
    return presentCanaryResult(
      await this.canaries.command(CANARY_COMMANDS.promote, payload, withReason(ctx, body.reason)),
    );
  }
}
