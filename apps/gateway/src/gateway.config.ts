import { IsInt, IsString, Max, Min, MinLength } from 'class-validator';
import { BaseEnv, ToNumber } from '#rollgate/platform';

export class GatewayEnv extends BaseEnv {
  override ROLLGATE_SERVICE_NAME = 'gateway';

  /** The one admin bearer token of this issue; required, so a gateway never starts open. */
  @IsString({ message: 'ROLLGATE_ADMIN_TOKEN is required (the admin bearer token)' })
  @MinLength(16, { message: 'ROLLGATE_ADMIN_TOKEN must be at least 16 characters' })
  ROLLGATE_ADMIN_TOKEN!: string;

  /** Deadline of every request to a service over NATS. */
  @ToNumber()
  @IsInt()
  @Min(50)
  @Max(120_000)
  ROLLGATE_BUS_TIMEOUT_MS = 5_000;
}
