import {
  ArchiveFlagPayload,
  ChangeRolloutPayload,
  ChangeUserListPayload,
  ConfigureEnvironmentPayload,
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
} from '#rollgate/contracts';

/** The raw CommandEnvelope of every `rg.cmd.flags.*` request (contracts `envelopeOf`), validated whole by the global pipe. */
export class CreateFlagCommand extends envelopeOf(CreateFlagPayload) {}
export class UpdateFlagCommand extends envelopeOf(UpdateFlagPayload) {}
export class UpdateFlagDetailsCommand extends envelopeOf(UpdateFlagDetailsPayload) {}
export class ArchiveFlagCommand extends envelopeOf(ArchiveFlagPayload) {}
export class UnarchiveFlagCommand extends envelopeOf(UnarchiveFlagPayload) {}
export class ToggleFlagCommand extends envelopeOf(ToggleFlagPayload) {}
export class ConfigureEnvironmentCommand extends envelopeOf(ConfigureEnvironmentPayload) {}
export class RemoveEnvironmentCommand extends envelopeOf(RemoveEnvironmentPayload) {}
export class ChangeRolloutCommand extends envelopeOf(ChangeRolloutPayload) {}
export class SetRulesCommand extends envelopeOf(SetRulesPayload) {}
export class ChangeUserListCommand extends envelopeOf(ChangeUserListPayload) {}
export class RevertFlagCommand extends envelopeOf(RevertFlagPayload) {}
export class DefineSegmentCommand extends envelopeOf(DefineSegmentPayload) {}
export class RemoveSegmentCommand extends envelopeOf(RemoveSegmentPayload) {}
