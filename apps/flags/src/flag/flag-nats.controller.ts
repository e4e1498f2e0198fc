import { Controller } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ValidateNested } from 'class-validator';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  ArchiveFlagPayload,
  ChangeRolloutPayload,
  ChangeSegmentMembersPayload,
  ChangeUserListPayload,
  ConfigureEnvironmentPayload,
  ConfigureEnvironmentsPayload,
  EnvironmentConfigItem,
  CreateFlagPayload,
  DefineSegmentPayload,
  RemoveEnvironmentPayload,
  RemoveSegmentPayload,
  RevertFlagPayload,
  SetRulesPayload,
  ToggleFlagPayload,
  UnarchiveFlagPayload,
  UpdateFlagDetailsPayload,
  UpdateFlagPayload,
  envelopeOf,
  FLAG_COMMANDS,
  flagSubjects,
  queueGroup,
  type BulkFlagCommandResult,
  type FlagCommandResult,
  type SegmentCommandResult,
} from '#rollgate/contracts';
import { FlagService } from './flag.service.js';

/** The request shape of each `rg.cmd.flags.*` command: the envelope around its payload, validated whole by the global pipe. */
class CreateFlagCommand extends envelopeOf(CreateFlagPayload) {}
class UpdateFlagCommand extends envelopeOf(UpdateFlagPayload) {}
class UpdateFlagDetailsCommand extends envelopeOf(UpdateFlagDetailsPayload) {}
class ArchiveFlagCommand extends envelopeOf(ArchiveFlagPayload) {}
class UnarchiveFlagCommand extends envelopeOf(UnarchiveFlagPayload) {}
class ToggleFlagCommand extends envelopeOf(ToggleFlagPayload) {}
class ConfigureEnvironmentCommand extends envelopeOf(ConfigureEnvironmentPayload) {}
class ConfigureEnvironmentsBody extends ConfigureEnvironmentsPayload {
  @ValidateNested({ each: true })
  @Type(() => EnvironmentConfigItem)
  declare items: EnvironmentConfigItem[];
}
class ConfigureEnvironmentsCommand extends envelopeOf(ConfigureEnvironmentsBody) {}
class RemoveEnvironmentCommand extends envelopeOf(RemoveEnvironmentPayload) {}
class ChangeRolloutCommand extends envelopeOf(ChangeRolloutPayload) {}
class SetRulesCommand extends envelopeOf(SetRulesPayload) {}
class ChangeUserListCommand extends envelopeOf(ChangeUserListPayload) {}
class RevertFlagCommand extends envelopeOf(RevertFlagPayload) {}
class DefineSegmentCommand extends envelopeOf(DefineSegmentPayload) {}
class ChangeSegmentMembersCommand extends envelopeOf(ChangeSegmentMembersPayload) {}
class RemoveSegmentCommand extends envelopeOf(RemoveSegmentPayload) {}

const QUEUE = { queue: queueGroup('flags') };
const command = flagSubjects.command;

/** `rg.cmd.flags.<verb>`: raw CommandEnvelope in, raw Reply out (see README). Validation is the global pipe's. */
@Controller()
export class FlagNatsController {
  constructor(private readonly flags: FlagService) {}

  @MessagePattern(command(FLAG_COMMANDS.create), QUEUE)
  create(@Payload() envelope: CreateFlagCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'CreateFlag', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.update), QUEUE)
  update(@Payload() envelope: UpdateFlagCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'UpdateFlag', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.updateDetails), QUEUE)
  updateDetails(@Payload() envelope: UpdateFlagDetailsCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'UpdateFlagDetails', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.archive), QUEUE)
  archive(@Payload() envelope: ArchiveFlagCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'ArchiveFlag', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.unarchive), QUEUE)
  unarchive(@Payload() envelope: UnarchiveFlagCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'UnarchiveFlag', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.toggle), QUEUE)
  toggle(@Payload() envelope: ToggleFlagCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'ToggleFlag', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.configureEnvironment), QUEUE)
  configureEnvironment(@Payload() envelope: ConfigureEnvironmentCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'ConfigureEnvironment', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.configureEnvironments), QUEUE)
  configureEnvironments(@Payload() envelope: ConfigureEnvironmentsCommand): Promise<BulkFlagCommandResult> {
    return this.flags.configureEnvironments(envelope, envelope.payload);
  }

  @MessagePattern(command(FLAG_COMMANDS.removeEnvironment), QUEUE)
  removeEnvironment(@Payload() envelope: RemoveEnvironmentCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'RemoveEnvironment', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.changeRollout), QUEUE)
  changeRollout(@Payload() envelope: ChangeRolloutCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'ChangeRollout', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.setRules), QUEUE)
  setRules(@Payload() envelope: SetRulesCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'SetRules', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.changeUserList), QUEUE)
  changeUserList(@Payload() envelope: ChangeUserListCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'ChangeUserList', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.revert), QUEUE)
  revert(@Payload() envelope: RevertFlagCommand): Promise<FlagCommandResult> {
    return this.flags.handleFlag(envelope, { type: 'RevertFlag', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.defineSegment), QUEUE)
  defineSegment(@Payload() envelope: DefineSegmentCommand): Promise<SegmentCommandResult> {
    return this.flags.handleSegment(envelope, { type: 'DefineSegment', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.changeSegmentMembers), QUEUE)
  changeSegmentMembers(@Payload() envelope: ChangeSegmentMembersCommand): Promise<SegmentCommandResult> {
    return this.flags.handleSegment(envelope, { type: 'ChangeSegmentMembers', data: envelope.payload });
  }

  @MessagePattern(command(FLAG_COMMANDS.removeSegment), QUEUE)
  removeSegment(@Payload() envelope: RemoveSegmentCommand): Promise<SegmentCommandResult> {
    return this.flags.handleSegment(envelope, { type: 'RemoveSegment', data: envelope.payload });
  }
}
