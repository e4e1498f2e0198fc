import { Type } from 'class-transformer';
import { IsDefined, IsObject, IsOptional, IsString, Length, Matches, MaxLength, ValidateNested } from 'class-validator';
import type { CommandEnvelope } from './envelope.js';

/**
 * The one request shape of every `rg.cmd.<service>.<verb>`: a CommandEnvelope class around a payload class,
 * validated as a whole by the global pipe, so unknown fields are refused in the envelope and the payload alike.
 * Every service declares its commands as `class XCommand extends envelopeOf(XPayload) {}`.
 */
export function envelopeOf<Payload extends object>(payloadClass: new () => Payload) {
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

    @IsOptional()
    @Matches(/^[\x21-\x7e]{1,100}$/, { message: 'requestHash must be 1-100 printable ASCII characters' })
    requestHash?: string;

    @IsDefined()
    @IsObject()
    @ValidateNested()
    @Type(() => payloadClass)
    payload!: Payload;
  }
  return Envelope;
}
