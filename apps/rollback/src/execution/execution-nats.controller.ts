import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CancelExecutionPayload,
  EmergencyPayload,
  envelopeOf,
  ExecutePlanPayload,
  ExecutionQuery,
  ListExecutionsQuery,
  queueGroup,
  ROLLBACK_COMMANDS,
  ROLLBACK_QUERIES,
  RollbackAuditQuery,
  RollbackFlagPayload,
  RollbackMetricsQuery,
  rollbackSubjects,
  TriggerPayload,
  type Execution,
  type ExecutionSummary,
  type Page,
  type RollbackAuditEntry,
  type RollbackMetrics,
} from '#rollgate/contracts';
import { CLOCK, type Clock } from '#rollgate/service-runtime';
import { RollbackQueries } from '../read-model/rollback.query.js';
import { ExecutionService } from './execution.service.js';

class ExecutePlanCommand extends envelopeOf(ExecutePlanPayload) {}
class EmergencyCommand extends envelopeOf(EmergencyPayload) {}
class RollbackFlagCommand extends envelopeOf(RollbackFlagPayload) {}
class CancelExecutionCommand extends envelopeOf(CancelExecutionPayload) {}
class TriggerCommand extends envelopeOf(TriggerPayload) {}

const QUEUE = { queue: queueGroup('rollback') };

/** `rg.cmd.rollback.{execute,emergency,rollback-flag,cancel,trigger}` and the execution queries. */
@Controller()
export class ExecutionNatsController {
  constructor(
    private readonly executions: ExecutionService,
    private readonly queries: RollbackQueries,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @MessagePattern(rollbackSubjects.command(ROLLBACK_COMMANDS.execute), QUEUE)
  execute(@Payload() envelope: ExecutePlanCommand): Promise<Execution> {
    return this.executions.execute(envelope, envelope.payload);
  }

  @MessagePattern(rollbackSubjects.command(ROLLBACK_COMMANDS.emergency), QUEUE)
  emergency(@Payload() envelope: EmergencyCommand): Promise<Execution> {
    return this.executions.emergency(envelope, envelope.payload);
  }

  @MessagePattern(rollbackSubjects.command(ROLLBACK_COMMANDS.rollbackFlag), QUEUE)
  rollbackFlag(@Payload() envelope: RollbackFlagCommand): Promise<Execution> {
    return this.executions.rollbackFlag(envelope, envelope.payload);
  }

  @MessagePattern(rollbackSubjects.command(ROLLBACK_COMMANDS.cancel), QUEUE)
  cancel(@Payload() envelope: CancelExecutionCommand): Promise<Execution> {
    return this.executions.cancel(envelope, envelope.payload.executionId);
  }

  @MessagePattern(rollbackSubjects.command(ROLLBACK_COMMANDS.trigger), QUEUE)
  trigger(@Payload() envelope: TriggerCommand): Promise<Execution> {
    return this.executions.trigger(envelope, envelope.payload);
  }

  @MessagePattern(rollbackSubjects.query(ROLLBACK_QUERIES.execution), QUEUE)
  execution(@Payload() query: ExecutionQuery): Promise<Execution> {
    return this.queries.execution(query.id);
  }

  @MessagePattern(rollbackSubjects.query(ROLLBACK_QUERIES.executions), QUEUE)
  list(@Payload() query: ListExecutionsQuery): Promise<ExecutionSummary[]> {
    return this.queries.executions(query);
  }

  @MessagePattern(rollbackSubjects.query(ROLLBACK_QUERIES.metrics), QUEUE)
  metrics(@Payload() query: RollbackMetricsQuery): Promise<RollbackMetrics> {
    return this.queries.metrics(query, this.clock());
  }

  @MessagePattern(rollbackSubjects.query(ROLLBACK_QUERIES.audit), QUEUE)
  audit(@Payload() query: RollbackAuditQuery): Promise<Page<RollbackAuditEntry>> {
    return this.queries.audit(query);
  }
}
