import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type CommandOrigin } from '#rollgate/commands';
import {
  TERMINAL_STATUSES,
  type CommandEnvelope,
  type EmergencyPayload,
  type Execution,
  type FlagDefinition,
  type ExecutePlanPayload,
  type ExecutionCause,
  type RollbackFlagPayload,
  type RollbackPlan,
  type RollbackScope,
  type StepDefinition,
  type TriggerPayload,
} from '#rollgate/contracts';
import { CLOCK, type Clock } from '#rollgate/service-runtime';
import { targetProblems } from '../plan/plan.validation.js';
import { RollbackQueries } from '../read-model/rollback.query.js';
import { executionAggregate } from '../rollback.aggregates.js';
import { RollbackEnv } from '../rollback.config.js';
import { RollbackError, RollbackErrorCodes } from '../rollback.errors.js';
import { FlagsPort } from '../steps/flags.port.js';
import { emergencySteps, executionSteps } from './default-steps.js';
import { decideExecution, withFirstAttempt, type ExecutionCommand, type ExecutionRequest } from './execution.decider.js';
import { EXECUTION_WAKER, type ExecutionWaker } from './execution.tokens.js';

/** A UUID-shaped id derived from a command id: a repeated command lands on the same stream (and is a duplicate). */
export const executionIdOf = (commandId: string): string => {
  const hex = createHash('sha256').update(`rollback-execution\n${commandId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/** Appends one saga command to an execution (the executor's records, preemption, cancel). */
export async function recordExecution(
  commands: CommandHandler,
  clock: Clock,
  executionId: string,
  command: ExecutionCommand,
  origin: CommandOrigin,
): Promise<Execution | null> {
  const outcome = await commands.handle(executionAggregate, (decided: ExecutionCommand, state) => decideExecution(decided, state, clock()), {
    origin,
    key: executionId,
    commandType: command.type,
    command,
  });
  return outcome.state;
}

const originOf = (envelope: CommandEnvelope<unknown>): CommandOrigin => envelope;

const causeOf = (kind: ExecutionCause['kind'], envelope: CommandEnvelope<unknown>, executedBy?: string): ExecutionCause => ({
  kind,
  actor: envelope.actor,
  ...(envelope.reason === undefined ? {} : { reason: envelope.reason }),
  ...(executedBy === undefined ? {} : { executedBy }),
});

/**
 * Executions on the command core: it loads the plan and checks the target (facts the decider needs), then decides
 * and appends; the executor (ExecutionRunner) is woken to run the steps. Replies carry the execution as recorded.
 */
@Injectable()
export class ExecutionService {
  constructor(
    private readonly commands: CommandHandler,
    private readonly queries: RollbackQueries,
    private readonly flags: FlagsPort,
    private readonly env: RollbackEnv,
    @Inject(EXECUTION_WAKER) private readonly waker: ExecutionWaker,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(envelope: CommandEnvelope<unknown>, payload: ExecutePlanPayload): Promise<Execution> {
    const plan = await this.activePlan(payload.planId);
    if (payload.scheduledAt !== undefined && Date.parse(payload.scheduledAt) <= this.clock().getTime() - 60_000) {
      throw RollbackError.invalid('scheduledAt is in the past', [{ path: 'scheduledAt', message: 'must not be more than a minute in the past' }]);
    }
    if (plan.rollbackType === 'scheduled' && payload.scheduledAt === undefined) {
      throw RollbackError.invalid(`plan ${plan.id} is a scheduled plan`, [{ path: 'scheduledAt', message: 'is required to execute a scheduled plan' }]);
    }
    await this.checkTarget(plan.scope, plan.targetId);
    const scheduled = payload.scheduledAt !== undefined;
    return this.request(originOf(envelope), {
      id: executionIdOf(envelope.commandId),
      type: scheduled ? 'scheduled' : plan.rollbackType,
      scope: plan.scope,
      targetId: plan.targetId,
      planId: plan.id,
      planVersion: plan.version,
      cause: causeOf(scheduled ? 'schedule' : plan.rollbackType === 'emergency' ? 'emergency' : 'manual', envelope, payload.executedBy),
      onFailure: plan.onFailure ?? 'stop',
      steps: executionSteps(plan.steps),
      ...(scheduled ? { scheduledFor: new Date(payload.scheduledAt!).toISOString() } : {}),
    });
  }

  async emergency(envelope: CommandEnvelope<unknown>, payload: EmergencyPayload): Promise<Execution> {
    const problems = targetProblems(payload.scope, payload.targetId);
    if (problems.length > 0) throw RollbackError.invalid('wrong target for the scope', problems);
    if (payload.asOf !== undefined && Date.parse(payload.asOf) > this.clock().getTime()) {
      throw RollbackError.invalid('asOf is in the future', [{ path: 'asOf', message: 'must not be in the future' }]);
    }
    // The flag is the first step's only planning fact: read once, it checks the target and plans the step.
    const flag = payload.scope === 'feature_flag' ? await this.flags.flag(payload.targetId) : null;
    if (flag === null) await this.checkTarget(payload.scope, payload.targetId);
    const options = { ...(payload.asOf === undefined ? {} : { asOf: payload.asOf }), ...(payload.environments === undefined ? {} : { environments: payload.environments }) };
    return this.request(originOf(envelope), {
      id: executionIdOf(envelope.commandId),
      type: 'emergency',
      scope: payload.scope,
      targetId: payload.targetId,
      cause: causeOf('emergency', envelope, payload.executedBy),
      onFailure: 'stop',
      steps: executionSteps(emergencySteps(payload.scope, payload.targetId, options)),
    }, flag ?? undefined);
  }

  /** The seed's rollback_feature_flag: the flag's default steps as a manual execution (no plan). */
  async rollbackFlag(envelope: CommandEnvelope<unknown>, payload: RollbackFlagPayload): Promise<Execution> {
    await this.checkTarget('feature_flag', payload.key);
    return this.request(originOf(envelope), {
      id: executionIdOf(envelope.commandId),
      type: 'manual',
      scope: 'feature_flag',
      targetId: payload.key,
      cause: causeOf('manual', envelope, payload.executedBy),
      onFailure: 'stop',
      steps: executionSteps(emergencySteps('feature_flag', payload.key)),
    });
  }

  /**
   * A canary's regression decision: the automatic plan that targets the canary if there is one, else the canary
   * defaults (the canary's flag off when named, then end the canary). One execution per decision id.
   */
  async trigger(envelope: CommandEnvelope<unknown>, payload: TriggerPayload): Promise<Execution> {
    const [plan] = await this.queries.plans({ scope: 'canary_deployment', targetId: payload.canaryId, rollbackType: 'automatic', status: 'active' });
    const steps: StepDefinition[] = plan?.steps ?? [
      ...(payload.flagKey === undefined ? [] : emergencySteps('feature_flag', payload.flagKey)),
      ...emergencySteps('canary_deployment', payload.canaryId),
    ];
    const commandId = `canary-decision:${payload.decisionId}`;
    return this.request(
      { ...originOf(envelope), commandId, requestHash: undefined },
      {
        id: executionIdOf(commandId),
        type: 'automatic',
        scope: 'canary_deployment',
        targetId: payload.canaryId,
        ...(plan === undefined ? {} : { planId: plan.id, planVersion: plan.version }),
        cause: { ...causeOf('canary_decision', envelope), canaryId: payload.canaryId, decisionId: payload.decisionId, ...(payload.evidence === undefined ? {} : { evidence: payload.evidence }) },
        onFailure: plan?.onFailure ?? 'stop',
        steps: executionSteps(steps),
      },
    );
  }

  /** The criteria watcher's trigger: one execution per plan and judged window. */
  async automatic(plan: RollbackPlan, windowKey: string, evidence: unknown): Promise<Execution> {
    const commandId = `criteria:${plan.id}:${windowKey}`;
    return this.request(
      { commandId, actor: 'system:criteria-watcher', reason: `rollback criteria of plan ${plan.id} crossed` },
      {
        id: executionIdOf(commandId),
        type: 'automatic',
        scope: plan.scope,
        targetId: plan.targetId,
        planId: plan.id,
        planVersion: plan.version,
        cause: { kind: 'criteria', actor: 'system:criteria-watcher', reason: `rollback criteria of plan ${plan.id} crossed`, evidence },
        onFailure: plan.onFailure ?? 'stop',
        steps: executionSteps(plan.steps),
      },
    );
  }

  /**
   * Cancel takes effect between steps: the command records the request, the executor stops before the next step.
   * The reply waits (bounded) for that, so it can say which steps ran and which did not.
   */
  async cancel(envelope: CommandEnvelope<unknown>, executionId: string): Promise<Execution> {
    await this.queries.execution(executionId);
    await this.record(executionId, { type: 'CancelExecution', data: { actor: envelope.actor, ...(envelope.reason === undefined ? {} : { reason: envelope.reason }) } }, originOf(envelope));
    this.waker.wake();
    const deadline = Date.now() + this.env.ROLLGATE_ROLLBACK_CANCEL_WAIT_MS;
    for (;;) {
      const execution = await this.queries.execution(executionId);
      if (TERMINAL_STATUSES.has(execution.status) || Date.now() >= deadline) return execution;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async record(executionId: string, command: ExecutionCommand, origin: CommandOrigin): Promise<Execution | null> {
    return recordExecution(this.commands, this.clock, executionId, command, origin);
  }

  /** `flag`: the first step's flag, read just now (an emergency's fast path, see `withFirstAttempt`). */
  private async request(origin: CommandOrigin, request: ExecutionRequest, flag?: FlagDefinition): Promise<Execution> {
    const outcome = await this.commands.handle(
      executionAggregate,
      async (_: ExecutionRequest, state) => {
        const now = this.clock();
        const requested = decideExecution({ type: 'RequestExecution', data: { request, holder: await this.queries.holder(request.scope, request.targetId) } }, state, now);
        return flag === undefined ? requested : withFirstAttempt(requested, flag, now);
      },
      { origin, key: request.id, commandType: 'RequestExecution', command: request },
    );
    const execution = outcome.state!;
    const firstInFlight = !outcome.duplicate && execution.steps[0]?.attemptInFlight === 1;
    if (!outcome.duplicate && execution.preempts !== undefined) {
      // The lock moved already (same transaction); this tells the preempted saga, which also notices at its next step.
      await this.record(execution.preempts, { type: 'PreemptExecution', data: { by: execution.id } }, {
        commandId: `preempt:${execution.preempts}:${execution.id}`,
        actor: origin.actor,
        reason: `preempted by emergency ${execution.id}`,
        correlationId: execution.id,
      });
      this.waker.interrupt(execution.preempts);
    }
    this.waker.wake(execution.id, firstInFlight ? execution : undefined);
    return execution;
  }

  private async activePlan(id: string): Promise<RollbackPlan> {
    const plan = await this.queries.plan(id);
    if (plan.archived) throw new RollbackError(RollbackErrorCodes.planArchived, `rollback plan ${id} is archived`, { id });
    return plan;
  }

  /** The target exists, and is of the scope's kind (a flag key given as an environment is a wrong scope, not a 404). */
  async checkTarget(scope: RollbackScope, targetId: string): Promise<void> {
    const exists = async (kind: RollbackScope): Promise<boolean> => {
      switch (kind) {
        case 'feature_flag':
          return (await this.flags.flag(targetId)) !== null;
        case 'environment':
          return (await this.flags.query<unknown[]>('list', { environment: targetId })).length > 0;
        case 'user_group':
          return this.flags.segmentExists(targetId);
        default:
          return true;
      }
    };
    if (scope === 'canary_deployment' || scope === 'system_wide') return;
    if (await exists(scope)) return;
    for (const other of ['feature_flag', 'environment', 'user_group'] as const) {
      if (other !== scope && (await exists(other))) {
        throw RollbackError.invalid(`${targetId} is a ${other}, not a ${scope}`, [{ path: 'scope', message: `${targetId} is a ${other} target; use scope ${other}` }]);
      }
    }
    throw new RollbackError(RollbackErrorCodes.targetNotFound, `${scope} ${targetId} does not exist`, { scope, targetId });
  }
}
