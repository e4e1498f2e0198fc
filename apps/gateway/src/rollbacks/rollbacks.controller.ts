import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Execution, ExecutionSummary, RollbackMetrics, RollbackPlan } from '#rollgate/contracts';
import { currentCorrelationId } from '#rollgate/platform';
import { READ_ROLES, OPERATE_ROLES } from '../auth/principal.js';
import { Roles } from '../auth/roles.decorator.js';
import { Command, withReason, type CommandContext } from '../bus/command-context.js';
import { RollbackClient } from '../bus/rollback.client.js';
import { toSnakeCase } from '../http/json-case.js';
import { KeyParamPipe } from '../http/key-param.pipe.js';
import {
  CancelRollbackDto,
  CreateRollbackPlanDto,
  EmergencyRollbackDto,
  ExecuteRollbackDto,
  FlagRollbackDto,
  ListPlansQueryDto,
  ListRollbacksQueryDto,
  RollbackMetricsQueryDto,
  UpdateRollbackPlanDto,
} from './rollback.dto.js';
import { planFromHttp, planPathToHttp, presentExecution, presentPlan } from './rollback.presenter.js';

const defined = (entries: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));

/**
 * /api/v1/rollbacks: the seed's routes (execute, emergency, status, cancel), plans, lists and metrics. Translation
 * only; the rollback service decides. Executing and planning need operator (or admin), reading needs reader.
 */
@ApiTags('rollbacks')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'GENERIC.UNAUTHORIZED: missing or invalid bearer token' })
@Controller('rollbacks')
export class RollbacksController {
  constructor(private readonly rollbacks: RollbackClient) {}

  @Post('execute')
  @HttpCode(202)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'Execute a plan now, or at scheduled_at (a durable, once-only timer)' })
  @ApiResponse({ status: 404, description: 'ROLLBACK.PLAN_NOT_FOUND, ROLLBACK.TARGET_NOT_FOUND' })
  @ApiResponse({ status: 409, description: 'ROLLBACK.TARGET_IN_USE: another execution holds the target' })
  async execute(@Body() body: ExecuteRollbackDto, @Command() ctx: CommandContext) {
    const payload = defined({ planId: body.plan_id, executedBy: body.executed_by, scheduledAt: body.scheduled_at });
    return presentExecution(await this.rollbacks.command<Execution>('execute', payload, withReason(ctx, body.reason)));
  }

  @Post('emergency')
  @HttpCode(202)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'One-call emergency rollback of a target: default steps per scope, preempts a running rollback' })
  async emergency(@Body() body: EmergencyRollbackDto, @Command() ctx: CommandContext) {
    const payload = defined({ scope: body.scope, targetId: body.target_id, executedBy: body.executed_by, asOf: body.as_of, environments: body.environments });
    return presentExecution(await this.rollbacks.command<Execution>('emergency', payload, withReason(ctx, body.reason)));
  }

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List executions, newest first (filter by status, type, scope, target_id, plan_id, since, until)' })
  async list(@Query() query: ListRollbacksQueryDto) {
    const payload = defined({
      status: query.status,
      type: query.type,
      scope: query.scope,
      targetId: query.target_id,
      planId: query.plan_id,
      since: query.since,
      until: query.until,
      limit: query.limit,
    });
    const items = await this.rollbacks.query<ExecutionSummary[]>('executions', payload, currentCorrelationId());
    return { rollbacks: toSnakeCase(items), count: items.length };
  }

  @Get('metrics')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Rollback metrics: frequency, reasons, success rate, recovery time, step durations, consistency' })
  async metrics(@Query() query: RollbackMetricsQueryDto) {
    return toSnakeCase(await this.rollbacks.query<RollbackMetrics>('metrics', defined({ since: query.since, until: query.until }), currentCorrelationId()));
  }

  @Get('audit')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: "The rollback service's events (plans and executions) as an audit trail; see also GET /audit?source=rollback" })
  async audit(@Query('id') id?: string, @Query('cursor') cursor?: string) {
    const page = await this.rollbacks.query<{ items: unknown[]; next: string | null }>('audit', defined({ id, after: cursor }), currentCorrelationId());
    return { entries: toSnakeCase(page.items), next_cursor: page.next };
  }

  @Post('plans')
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: "Create a plan: the seed's name, description, rollback_type, scope, target_id, rollback_steps, rollback_criteria" })
  async createPlan(@Body() body: CreateRollbackPlanDto, @Command() ctx: CommandContext) {
    const plan = await this.rollbacks.command<RollbackPlan>('create-plan', { plan: planFromHttp(body) }, withReason(ctx, body.reason), planPathToHttp);
    return presentPlan(plan);
  }

  @Get('plans')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List plans (filter by scope, target_id, rollback_type, status)' })
  async plans(@Query() query: ListPlansQueryDto) {
    const plans = await this.rollbacks.query<RollbackPlan[]>(
      'plans',
      defined({ scope: query.scope, targetId: query.target_id, rollbackType: query.rollback_type, status: query.status }),
      currentCorrelationId(),
    );
    return { plans: plans.map(presentPlan), count: plans.length };
  }

  @Get('plans/:id')
  @Roles(...READ_ROLES)
  async plan(@Param('id', KeyParamPipe) id: string) {
    return presentPlan(await this.rollbacks.query<RollbackPlan>('plan', { id }, currentCorrelationId()));
  }

  @Put('plans/:id')
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'Change fields of a plan (the whole plan is validated again)' })
  async updatePlan(@Param('id', KeyParamPipe) id: string, @Body() body: UpdateRollbackPlanDto, @Command() ctx: CommandContext) {
    const payload = { id, changes: planFromHttp(body), ...(ctx.expectedVersion === undefined ? {} : { expectedVersion: ctx.expectedVersion }) };
    return presentPlan(await this.rollbacks.command<RollbackPlan>('update-plan', payload, withReason(ctx, body.reason), planPathToHttp));
  }

  @Delete('plans/:id')
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'Archive a plan (its history and executions stay)' })
  async archivePlan(@Param('id', KeyParamPipe) id: string, @Command() ctx: CommandContext) {
    return presentPlan(await this.rollbacks.command<RollbackPlan>('archive-plan', { id }, ctx));
  }

  @Get(':id')
  @Roles(...READ_ROLES)
  async get(@Param('id', KeyParamPipe) id: string) {
    return presentExecution(await this.rollbacks.query<Execution>('execution', { id }, currentCorrelationId()));
  }

  @Get(':id/status')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Status of an execution: each step with its state, attempts and timings' })
  @ApiResponse({ status: 404, description: 'ROLLBACK.EXECUTION_NOT_FOUND' })
  async status(@Param('id', KeyParamPipe) id: string) {
    return presentExecution(await this.rollbacks.query<Execution>('execution', { id }, currentCorrelationId()));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'Cancel: takes effect between steps; the answer lists the steps that ran and those that did not' })
  @ApiResponse({ status: 409, description: 'ROLLBACK.INVALID_STATE: already finished (or an emergency past its traffic step)' })
  async cancel(@Param('id', KeyParamPipe) id: string, @Body() body: CancelRollbackDto, @Command() ctx: CommandContext) {
    const execution = await this.rollbacks.command<Execution>('cancel', { executionId: id }, withReason(ctx, body?.reason));
    return {
      ...presentExecution(execution),
      steps_ran: execution.steps.filter((step) => step.status !== 'pending').map((step) => step.index),
      steps_not_run: execution.steps.filter((step) => step.status === 'pending').map((step) => step.index),
    };
  }
}

/** POST /api/v1/feature-flags/{id}/rollback: the seed's rollback_feature_flag shortcut (a manual execution of the flag defaults). */
@ApiTags('feature-flags')
@ApiBearerAuth()
@Controller('feature-flags')
export class FlagRollbackController {
  constructor(private readonly rollbacks: RollbackClient) {}

  @Post(':key/rollback')
  @HttpCode(202)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'Roll a flag back: off in every environment, confirmed by the SDKs (a rollback execution)' })
  async rollback(@Param('key', KeyParamPipe) key: string, @Body() body: FlagRollbackDto, @Command() ctx: CommandContext) {
    const payload = defined({ key, executedBy: body?.rolled_back_by });
    return presentExecution(await this.rollbacks.command<Execution>('rollback-flag', payload, withReason(ctx, body?.reason)));
  }
}
