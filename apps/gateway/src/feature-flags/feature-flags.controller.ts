import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { FLAG_COMMANDS, FLAG_ERROR_CODES, OUTCOME_QUERY, type AnalyticsResult, type AuditEntry, type EvaluateFlagQuery, type FlagCommandResult, type FlagView, type OutcomesResult, type Page } from '#rollgate/contracts';
import { ConflictError, RollgateError, ValidationError, currentCorrelationId, httpStatusOf } from '#rollgate/platform';
import { DEFINE_ROLES, EVALUATE_ROLES, OPERATE_ROLES, READ_ROLES, assertMayUse, type Principal } from '../auth/principal.js';
import { CurrentPrincipal, Roles } from '../auth/roles.decorator.js';
import { Command, withReason, type CommandContext } from '../bus/command-context.js';
import { FlagsClient } from '../bus/flags.client.js';
import { READ_AFTER_HEADER, assertEnvironment, parseReadAfter } from '../edge/edge-request.js';
import { EnvironmentStates } from '../edge/environment-states.js';
import type { JsonValue } from '#rollgate/evaluation';
import { toCamelCase, toSnakeCase } from '../http/json-case.js';
import { KeyParamPipe } from '../http/key-param.pipe.js';
import { evaluationFromBody, evaluationFromQuery } from './evaluation-request.js';
import { CreateFeatureFlagDto, RevertFeatureFlagDto, UpdateFeatureFlagDto } from './feature-flag.dto.js';
import { AnalyticsQueryDto, AsOfQueryDto, EvaluateFeatureFlagDto, HistoryQueryDto, ListFeatureFlagsQueryDto, OutcomesQueryDto } from './feature-flag-query.dto.js';
import { ChangeRolloutDto, ChangeUsersDto, SetRulesDto, ToggleOrConfigureEnvironmentDto } from './flag-environment.dto.js';
import { presentFlag, presentCommandResult, presentEvaluation, presentFlagView, type EvaluationReply } from './feature-flag.presenter.js';
import { planCreate, rolloutFromBody, updateFromBody, updatePathToHttp, type CreatePlan } from './seed-mapping.js';
import { LIST_BODY_LIMIT_BYTES } from '../http/body-limits.js';
import { MemberLists, stepCommandId } from '../segments/member-lists.js';

const DAY_MS = 86_400_000;

const isClientError = (error: unknown): boolean => {
  if (!(error instanceof RollgateError)) return false;
  const status = httpStatusOf(error.code);
  return status >= 400 && status < 500;
};

/** The answer as bytes: Fastify writes a Buffer faster than the string it would serialize (bench:http). */
const asJsonBytes = (reply: FastifyReply, body: unknown): Buffer => {
  void reply.type('application/json; charset=utf-8');
  return Buffer.from(JSON.stringify(body));
};

const ctxOf = (principal: Principal) => ({ actor: principal.id, correlationId: currentCorrelationId() });
const etag = (version: number): string => `"${version}"`;

/**
 * /api/v1/feature-flags: translation only. DTOs validate, `seed-mapping` turns the seed's fields into the model,
 * FlagsClient carries commands and queries to the flags service, the presenter answers in snake_case.
 */
@ApiTags('feature-flags')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'GENERIC.UNAUTHORIZED: missing or invalid bearer token' })
@Controller('feature-flags')
export class FeatureFlagsController {
  constructor(
    private readonly flags: FlagsClient,
    private readonly lists: MemberLists,
    private readonly states: EnvironmentStates,
  ) {}

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'List flags (filter by environment, tag, status)' })
  async list(@Query() query: ListFeatureFlagsQueryDto, @CurrentPrincipal() principal: Principal) {
    // In pages over the bus: 10 000 flags do not fit one reply.
    const views: FlagView[] = [];
    for (let after: string | null | undefined; after !== null; ) {
      const page: Page<FlagView> = await this.flags.query<Page<FlagView>>('list', { ...query, paged: true, ...(after === undefined ? {} : { after }) }, ctxOf(principal));
      views.push(...page.items);
      after = page.next;
    }
    const flags = views.map(presentFlagView);
    return { flags, count: flags.length };
  }

  @Post()
  @Roles(...DEFINE_ROLES)
  @RouteConfig({ bodyLimit: LIST_BODY_LIMIT_BYTES })
  @ApiOperation({ summary: "Create a flag: the seed's simple fields, or the full model as `flag`" })
  @ApiResponse({ status: 413, description: 'GENERIC.PAYLOAD_TOO_LARGE (body over 8 MiB) or FLAGS.DEFINITION_TOO_LARGE / FLAGS.EVENT_TOO_LARGE' })
  @ApiResponse({ status: 201, description: 'Created (a repeated Idempotency-Key returns the first result, duplicate: true)' })
  @ApiResponse({ status: 400, description: 'GENERIC.VALIDATION with details.problems' })
  @ApiResponse({ status: 409, description: 'FLAGS.ALREADY_EXISTS' })
  async create(@Body() body: CreateFeatureFlagDto, @Command() ctx: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { flag, list } = planCreate(body, Date.now());
    const context = withReason(ctx, body.reason);
    if (list !== undefined) await this.uploadList(flag.key, list, context);
    let result: FlagCommandResult;
    try {
      result = await this.flags.command<FlagCommandResult>('create', { flag }, context);
    } catch (error) {
      // The flag was refused: its list must not stay behind (no flag references it yet).
      if (list !== undefined && isClientError(error)) await this.removeList(list.segment.key, context);
      throw error;
    }
    void reply.header('etag', etag(result.version)).header('location', `/api/v1/feature-flags/${result.key}`);
    return presentCommandResult(result);
  }

  /**
   * The member list segment of a create with many user ids, before the flag: created only if absent (another
   * flag's list, or one left behind, is a 409), its members in as many commands as they need. Steps carry command
   * ids derived from the request's, so a retry with the same Idempotency-Key replays them.
   */
  private async uploadList(flagKey: string, list: NonNullable<CreatePlan['list']>, ctx: CommandContext): Promise<void> {
    const exists = await this.flags.query<FlagView>('get', { key: flagKey }, ctx).then(
      () => true,
      (error: unknown) => (error instanceof RollgateError && error.code === FLAG_ERROR_CODES.notFound ? false : Promise.reject(error)),
    );
    if (exists) throw new ConflictError(`flag ${flagKey} already exists`, { code: FLAG_ERROR_CODES.alreadyExists, details: { key: flagKey } });
    try {
      await this.lists.define(list.segment, list.members, { ...ctx, commandId: stepCommandId(ctx.commandId, 'list'), expectedVersion: 0 }, () => 'user_ids');
    } catch (error) {
      if (error instanceof RollgateError && error.code === FLAG_ERROR_CODES.versionConflict) {
        throw new ConflictError(`segment ${list.segment.key}, which would hold the user ids of ${flagKey}, already exists`, {
          code: FLAG_ERROR_CODES.alreadyExists,
          details: { key: flagKey, segment: list.segment.key },
        });
      }
      throw error;
    }
  }

  private async removeList(key: string, ctx: CommandContext): Promise<void> {
    const { expectedVersion: _expectedVersion, ...rest } = ctx;
    await this.flags.command(FLAG_COMMANDS.removeSegment, { key }, { ...rest, commandId: stepCommandId(ctx.commandId, 'list-removed') }).catch(() => undefined);
  }

  @Get(':key')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Get a flag, optionally as it was at `as_of`' })
  @ApiResponse({ status: 404, description: 'FLAGS.NOT_FOUND' })
  async get(
    @Param('key', KeyParamPipe) key: string,
    @Query() query: AsOfQueryDto,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const payload = query.as_of === undefined ? { key } : { key, asOf: query.as_of };
    const view = await this.flags.query<FlagView>('get', payload, ctxOf(principal));
    void reply.header('etag', etag(view.flag.version));
    return presentFlagView(view);
  }

  @Put(':key')
  @Roles(...DEFINE_ROLES)
  @ApiOperation({
    summary: 'Update details, rollout and target environments: one command, decided and appended at once (see docs/api.md)',
  })
  @ApiResponse({ status: 400, description: 'GENERIC.VALIDATION with details.problems; nothing changed' })
  async update(
    @Param('key', KeyParamPipe) key: string,
    @Body() body: UpdateFeatureFlagDto,
    @Command() ctx: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.flags.command<FlagCommandResult>(FLAG_COMMANDS.update, { key, ...updateFromBody(body) }, withReason(ctx, body.reason), updatePathToHttp);
    void reply.header('etag', etag(result.version));
    return { ...presentFlag(result.flag!), commands: [FLAG_COMMANDS.update] };
  }

  @Delete(':key')
  @HttpCode(204)
  @Roles(...DEFINE_ROLES)
  @ApiOperation({ summary: 'Archive a flag (history kept; restore with POST /restore)' })
  @ApiResponse({ status: 204, description: 'Archived' })
  async archive(@Param('key', KeyParamPipe) key: string, @Command() ctx: CommandContext): Promise<void> {
    await this.flags.command(FLAG_COMMANDS.archive, { key }, ctx);
  }

  @Post(':key/restore')
  @HttpCode(200)
  @Roles(...DEFINE_ROLES)
  @ApiOperation({ summary: 'Unarchive a flag' })
  async restore(@Param('key', KeyParamPipe) key: string, @Command() ctx: CommandContext) {
    return presentCommandResult(await this.flags.command<FlagCommandResult>('unarchive', { key }, ctx));
  }

  @Get(':key/evaluate')
  @Roles(...EVALUATE_ROLES)
  @ApiOperation({ summary: 'Evaluate for a user; other query parameters become context attributes' })
  @ApiQuery({ name: 'user_id', required: false })
  @ApiQuery({ name: 'environment', required: false, description: 'default production' })
  @ApiQuery({ name: 'as_of', required: false, description: 'ISO-8601: what was served then' })
  @ApiHeader({ name: 'Rollgate-Read-After', required: false, description: '<flag key>@<version>, …: wait until the gateway holds these versions' })
  async evaluateGet(
    @Param('key', KeyParamPipe) key: string,
    @Query() query: Record<string, unknown>,
    @Headers(READ_AFTER_HEADER) readAfter: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return asJsonBytes(reply, await this.evaluate(evaluationFromQuery(key, query), readAfter, principal));
  }

  @Post(':key/evaluate')
  @HttpCode(200)
  @Roles(...EVALUATE_ROLES)
  @ApiOperation({ summary: 'Evaluate with a JSON context' })
  async evaluatePost(
    @Param('key', KeyParamPipe) key: string,
    @Body() body: EvaluateFeatureFlagDto,
    @Headers(READ_AFTER_HEADER) readAfter: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return asJsonBytes(reply, await this.evaluate(evaluationFromBody(key, body), readAfter, principal));
  }

  /** From the gateway's memory; only an as-of evaluation asks the flags service (it reads the history). */
  private async evaluate(query: EvaluateFlagQuery, readAfter: string | undefined, principal: Principal) {
    assertEnvironment(principal, query.environment);
    if (query.asOf !== undefined) return presentEvaluation(query.key, await this.flags.query<EvaluationReply>('evaluate', query, ctxOf(principal)));
    const versions = parseReadAfter(readAfter);
    const state = (versions.length === 0 ? this.states.readyNow(query.environment) : undefined) ?? (await this.states.readAfter(query.environment, versions));
    const result = state.evaluate(query.key, query.context, query.defaultValue as JsonValue | undefined);
    return presentEvaluation(query.key, { ...result, value: result.value ?? null });
  }

  @Put(':key/environments/:env')
  @Roles(...OPERATE_ROLES)
  @ApiOperation({
    summary: 'Toggle (`{enabled}`: admin, operator) or configure (`{enabled, default_rollout, rules}`: admin) an environment',
  })
  @ApiResponse({ status: 403, description: 'GENERIC.FORBIDDEN: an operator sent a full configuration' })
  async environment(
    @Param('key', KeyParamPipe) key: string,
    @Param('env', KeyParamPipe) environment: string,
    @Body() body: ToggleOrConfigureEnvironmentDto,
    @Command() ctx: CommandContext,
    @CurrentPrincipal() principal: Principal,
  ) {
    const context = withReason(ctx, body.reason);
    if (body.default_rollout === undefined && body.rules === undefined) {
      return presentCommandResult(
        await this.flags.command<FlagCommandResult>('toggle', { key, environment, enabled: body.enabled }, context),
      );
    }
    // The kill switch is an operator's; rules and rollouts together redefine the environment.
    assertMayUse(principal, DEFINE_ROLES, 'configure an environment (only toggle it)');
    if (body.default_rollout === undefined) {
      throw ValidationError.of([{ path: 'default_rollout', message: 'is required for a full environment config' }]);
    }
    const config = toCamelCase<object>({ enabled: body.enabled, default_rollout: body.default_rollout, rules: body.rules ?? [] });
    return presentCommandResult(
      await this.flags.command<FlagCommandResult>('configure-environment', { key, environment, config }, context),
    );
  }

  @Put(':key/environments/:env/rollout')
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: "Change the environment's default rollout (or a rule's, with rule_id)" })
  async rollout(
    @Param('key', KeyParamPipe) key: string,
    @Param('env', KeyParamPipe) environment: string,
    @Body() body: ChangeRolloutDto,
    @Command() ctx: CommandContext,
  ) {
    const rollout = rolloutFromBody(body, environment, Date.now());
    const payload = body.rule_id === undefined ? { key, environment, rollout } : { key, environment, rollout, ruleId: body.rule_id };
    return presentCommandResult(await this.flags.command<FlagCommandResult>('change-rollout', payload, withReason(ctx, body.reason)));
  }

  @Put(':key/environments/:env/rules')
  @Roles(...DEFINE_ROLES)
  @ApiOperation({ summary: "Replace the environment's ordered rules" })
  async rules(
    @Param('key', KeyParamPipe) key: string,
    @Param('env', KeyParamPipe) environment: string,
    @Body() body: SetRulesDto,
    @Command() ctx: CommandContext,
  ) {
    const rules = toCamelCase<object[]>(body.rules);
    return presentCommandResult(
      await this.flags.command<FlagCommandResult>('set-rules', { key, environment, rules }, withReason(ctx, body.reason)),
    );
  }

  @Patch(':key/environments/:env/users')
  @Roles(...DEFINE_ROLES)
  @ApiOperation({ summary: 'Add / remove user ids of a user list (deltas)' })
  async users(
    @Param('key', KeyParamPipe) key: string,
    @Param('env', KeyParamPipe) environment: string,
    @Body() body: ChangeUsersDto,
    @Command() ctx: CommandContext,
  ) {
    const payload = { key, environment, add: body.add ?? [], remove: body.remove ?? [], ...(body.rule_id === undefined ? {} : { ruleId: body.rule_id }) };
    return presentCommandResult(await this.flags.command<FlagCommandResult>('change-user-list', payload, withReason(ctx, body.reason)));
  }

  @Post(':key/revert')
  @HttpCode(200)
  @Roles(...OPERATE_ROLES)
  @ApiOperation({ summary: 'Restore the flag to a version (`to_version`) or a time (`as_of`): a new event, history kept' })
  async revert(@Param('key', KeyParamPipe) key: string, @Body() body: RevertFeatureFlagDto, @Command() ctx: CommandContext) {
    if ((body.to_version === undefined) === (body.as_of === undefined)) {
      throw ValidationError.of([
        { path: 'to_version', message: 'exactly one of to_version, as_of' },
        { path: 'as_of', message: 'exactly one of to_version, as_of' },
      ]);
    }
    const payload = body.to_version === undefined ? { key, asOf: body.as_of } : { key, toVersion: body.to_version };
    return presentCommandResult(await this.flags.command<FlagCommandResult>('revert', payload, withReason(ctx, body.reason)));
  }

  @Get(':key/history')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: "The flag's changes: who, what, when, why, before and after" })
  async history(@Param('key', KeyParamPipe) key: string, @Query() query: HistoryQueryDto, @CurrentPrincipal() principal: Principal) {
    const payload = { key, ...(query.from_version === undefined ? {} : { fromVersion: query.from_version }), ...(query.limit === undefined ? {} : { limit: query.limit }) };
    const page = await this.flags.query<Page<AuditEntry>>('history', payload, ctxOf(principal));
    return { key, entries: toSnakeCase(page.items), next_from_version: page.next };
  }

  @Get(':key/analytics')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Evaluation counts per variant, environment and time bucket' })
  async analytics(@Param('key', KeyParamPipe) key: string, @Query() query: AnalyticsQueryDto, @CurrentPrincipal() principal: Principal) {
    return toSnakeCase(await this.flags.query<AnalyticsResult>('analytics', windowPayload(key, query), ctxOf(principal)));
  }

  @Get(':key/outcomes')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Outcomes reported by SDKs per variant (cohort) and window: requests, errors, users with errors, latency histogram, exposures' })
  async outcomes(@Param('key', KeyParamPipe) key: string, @Query() query: OutcomesQueryDto, @CurrentPrincipal() principal: Principal) {
    return toSnakeCase(await this.flags.query<OutcomesResult>(OUTCOME_QUERY, windowPayload(key, query), ctxOf(principal)));
  }
}

/** A flag's counts over a time window (the last day unless `since` is given), as the rollup queries take it. */
function windowPayload(
  key: string,
  query: { since?: string; until?: string; environment?: string; granularity?: string },
): Record<string, unknown> {
  return {
    key,
    since: query.since ?? new Date(Date.now() - DAY_MS).toISOString(),
    ...(query.until === undefined ? {} : { until: query.until }),
    ...(query.environment === undefined ? {} : { environment: query.environment }),
    ...(query.granularity === undefined ? {} : { granularity: query.granularity }),
  };
}
