import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  AbortCanaryPayload,
  CANARY_COMMANDS,
  CreateCanaryPayload,
  EndCanaryPayload,
  PauseCanaryPayload,
  PromoteCanaryPayload,
  ResumeCanaryPayload,
  RollbackCanaryPayload,
  StartCanaryPayload,
  canarySubjects,
  envelopeOf,
  queueGroup,
  type CanaryCommandResult,
} from '#rollgate/contracts';
import { CanaryService } from './canary.service.js';

/** The request shape of each `rg.cmd.canary.*` command: the envelope around its payload, validated whole by the global pipe. */
class CreateCanaryCommand extends envelopeOf(CreateCanaryPayload) {}
class StartCanaryCommand extends envelopeOf(StartCanaryPayload) {}
class PromoteCanaryCommand extends envelopeOf(PromoteCanaryPayload) {}
class RollbackCanaryCommand extends envelopeOf(RollbackCanaryPayload) {}
class AbortCanaryCommand extends envelopeOf(AbortCanaryPayload) {}
class EndCanaryCommand extends envelopeOf(EndCanaryPayload) {}
class PauseCanaryCommand extends envelopeOf(PauseCanaryPayload) {}
class ResumeCanaryCommand extends envelopeOf(ResumeCanaryPayload) {}

const QUEUE = { queue: queueGroup('canary') };
const command = canarySubjects.command;

/** `rg.cmd.canary.<verb>`: raw CommandEnvelope in, raw Reply out. */
@Controller()
export class CanaryNatsController {
  constructor(private readonly canaries: CanaryService) {}

  @MessagePattern(command(CANARY_COMMANDS.create), QUEUE)
  create(@Payload() envelope: CreateCanaryCommand): Promise<CanaryCommandResult> {
    return this.canaries.create(envelope, envelope.payload);
  }

  @MessagePattern(command(CANARY_COMMANDS.start), QUEUE)
  start(@Payload() envelope: StartCanaryCommand): Promise<CanaryCommandResult> {
    return this.canaries.start(envelope, envelope.payload);
  }

  @MessagePattern(command(CANARY_COMMANDS.promote), QUEUE)
  promote(@Payload() envelope: PromoteCanaryCommand): Promise<CanaryCommandResult> {
    return this.canaries.promote(envelope, envelope.payload);
  }

  @MessagePattern(command(CANARY_COMMANDS.rollback), QUEUE)
  rollback(@Payload() envelope: RollbackCanaryCommand): Promise<CanaryCommandResult> {
    return this.canaries.rollback(envelope, envelope.payload);
  }

  @MessagePattern(command(CANARY_COMMANDS.abort), QUEUE)
  abort(@Payload() envelope: AbortCanaryCommand): Promise<CanaryCommandResult> {
    return this.canaries.abort(envelope, envelope.payload);
  }

  @MessagePattern(command(CANARY_COMMANDS.pause), QUEUE)
  pause(@Payload() envelope: PauseCanaryCommand): Promise<CanaryCommandResult> {
    return this.canaries.pause(envelope, envelope.payload);
  }

  @MessagePattern(command(CANARY_COMMANDS.resume), QUEUE)
  resume(@Payload() envelope: ResumeCanaryCommand): Promise<CanaryCommandResult> {
    return this.canaries.resume(envelope, envelope.payload);
  }

  @MessagePattern(command(CANARY_COMMANDS.end), QUEUE)
  end(@Payload() envelope: EndCanaryCommand): Promise<CanaryCommandResult> {
    return this.canaries.end(envelope, envelope.payload);
  }
}
