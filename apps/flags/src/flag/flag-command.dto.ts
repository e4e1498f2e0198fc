import { Type } from 'class-transformer';
import { IsDefined, IsObject, IsOptional, IsString, Length, MaxLength, ValidateNested } from 'class-validator';
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
  type CommandEnvelope,
} from '#rollgate/contracts';

/**
 * The raw CommandEnvelope of every `rg.cmd.flags.*` request, validated as a whole by the global pipe: unknown
 * fields are refused in the envelope and in the payload alike.
 */
function envelopeOf<Payload extends object>(payloadClass: new () => Payload) {
  abstract class Envelope implements CommandEnvelope<Payload> {
    @IsString()
    @Length(1, 200)
    commandId!: string;

    @IsString()
    @Length(1, 200)
    actor!: string;

    @IsOptional()
    @IsString()
    @MaxLength(1_000)
    reason?: string;

    @IsOptional()
    @IsString()
    @MaxLength(128)
    correlationId?: string;

    @IsDefined()
    @IsObject()
    @ValidateNested()
    @Type(() => payloadClass)
    payload!: Payload;
  }
  return Envelope;
}

export class CreateFlagCommand extends envelopeOf(CreateFlagPayload) {}
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
