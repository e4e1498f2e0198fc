import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  ArchivePlanPayload,
  CreatePlanPayload,
  envelopeOf,
  ListPlansQuery,
  PlanQuery,
  queueGroup,
  ROLLBACK_COMMANDS,
  ROLLBACK_QUERIES,
  rollbackSubjects,
  UpdatePlanPayload,
  type RollbackPlan,
} from '#rollgate/contracts';
import { RollbackQueries } from '../read-model/rollback.query.js';
import { PlanService } from './plan.service.js';

class CreatePlanCommand extends envelopeOf(CreatePlanPayload) {}
class UpdatePlanCommand extends envelopeOf(UpdatePlanPayload) {}
class ArchivePlanCommand extends envelopeOf(ArchivePlanPayload) {}

const QUEUE = { queue: queueGroup('rollback') };

/** `rg.cmd.rollback.{create,update,archive}-plan` and `rg.qry.rollback.plan(s)`. */
@Controller()
export class PlanNatsController {
  constructor(
    private readonly plans: PlanService,
    private readonly queries: RollbackQueries,
  ) {}

  @MessagePattern(rollbackSubjects.command(ROLLBACK_COMMANDS.createPlan), QUEUE)
  create(@Payload() envelope: CreatePlanCommand): Promise<RollbackPlan> {
    return this.plans.create(envelope, envelope.payload);
  }

  @MessagePattern(rollbackSubjects.command(ROLLBACK_COMMANDS.updatePlan), QUEUE)
  update(@Payload() envelope: UpdatePlanCommand): Promise<RollbackPlan> {
    return this.plans.update(envelope, envelope.payload);
  }

  @MessagePattern(rollbackSubjects.command(ROLLBACK_COMMANDS.archivePlan), QUEUE)
  archive(@Payload() envelope: ArchivePlanCommand): Promise<RollbackPlan> {
    return this.plans.archive(envelope, envelope.payload.id);
  }

  @MessagePattern(rollbackSubjects.query(ROLLBACK_QUERIES.plan), QUEUE)
  plan(@Payload() query: PlanQuery): Promise<RollbackPlan> {
    return this.queries.plan(query.id);
  }

  @MessagePattern(rollbackSubjects.query(ROLLBACK_QUERIES.plans), QUEUE)
  list(@Payload() query: ListPlansQuery): Promise<RollbackPlan[]> {
    return this.queries.plans(query);
  }
}
