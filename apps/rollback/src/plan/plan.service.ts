import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler } from '#rollgate/commands';
import type { CommandEnvelope, CreatePlanPayload, RollbackPlan, UpdatePlanPayload } from '#rollgate/contracts';
import { CLOCK, type Clock } from '#rollgate/service-runtime';
import { planAggregate } from '../rollback.aggregates.js';
import { decidePlan, planCommandKey, type PlanCommand } from './plan.decider.js';

/** A plan id derived from the command id when the author gives none (a repeated create lands on the same plan). */
export const planIdOf = (commandId: string): string => `plan_${createHash('sha256').update(`rollback-plan\n${commandId}`).digest('hex').slice(0, 16)}`;

/** Plans on the command core: create, update, archive (reads are RollbackQueries'). */
@Injectable()
export class PlanService {
  constructor(
    private readonly commands: CommandHandler,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  create(envelope: CommandEnvelope<unknown>, payload: CreatePlanPayload): Promise<RollbackPlan> {
    const plan = { ...payload.plan, id: payload.plan.id ?? planIdOf(envelope.commandId) };
    return this.handle(envelope, { type: 'CreatePlan', data: { plan } });
  }

  update(envelope: CommandEnvelope<unknown>, payload: UpdatePlanPayload): Promise<RollbackPlan> {
    return this.handle(envelope, { type: 'UpdatePlan', data: payload }, payload.expectedVersion);
  }

  archive(envelope: CommandEnvelope<unknown>, id: string): Promise<RollbackPlan> {
    return this.handle(envelope, { type: 'ArchivePlan', data: { id } });
  }

  private async handle(envelope: CommandEnvelope<unknown>, command: PlanCommand, expectedVersion?: number): Promise<RollbackPlan> {
    const outcome = await this.commands.handle(planAggregate, (decided: PlanCommand, state) => decidePlan(decided, state, this.clock()), {
      origin: envelope,
      key: planCommandKey(command),
      commandType: command.type,
      command,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    return outcome.state!;
  }
}
