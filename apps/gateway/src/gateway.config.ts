import { IsInt, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { ToNumber } from '#rollgate/platform';
import { ServiceEnv } from '#rollgate/service-runtime';

/** The gateway's variables: its own database (API tokens) besides the shared ones. */
export class GatewayEnv extends ServiceEnv {
  override ROLLGATE_SERVICE_NAME = 'gateway';
  // Its own database, never a service's: the flags service's publisher would carry token events to the bus.
  override DATABASE_URL = 'postgres://rollgate_app@127.0.0.1:5432/rollgate_gateway';
  override ROLLGATE_MIGRATION_DATABASE_URL = 'postgres://rollgate_owner@127.0.0.1:5432/rollgate_gateway';

  /** The bootstrap admin bearer token (principal `admin`); required, so a gateway never starts open. */
  @IsString({ message: 'ROLLGATE_ADMIN_TOKEN is required (the admin bearer token)' })
  @MinLength(16, { message: 'ROLLGATE_ADMIN_TOKEN must be at least 16 characters' })
  ROLLGATE_ADMIN_TOKEN!: string;

  /** Deadline of every request to a service over NATS. */
  @ToNumber()
  @IsInt()
  @Min(50)
  @Max(120_000)
  ROLLGATE_BUS_TIMEOUT_MS = 5_000;

  /** How often each gateway reads its log for tokens issued or revoked by other replicas (ms). */
  @ToNumber()
  @IsInt()
  @Min(10)
  @Max(60_000)
  ROLLGATE_GATEWAY_TOKEN_POLL_MS = 250;

  /** How often the tokens' last-use times are written, in one batch (ms). */
  @ToNumber()
  @IsInt()
  @Min(100)
  @Max(600_000)
  ROLLGATE_GATEWAY_TOKEN_USAGE_FLUSH_MS = 10_000;

  /**
   * Environments loaded before the gateway is ready (comma-separated); any other loads on its first read.
   * Each is an SDK client in the gateway: evaluations and the environment payload come from memory.
   */
  @Matches(/^[A-Za-z0-9_,. -]*$/, { message: 'ROLLGATE_GATEWAY_ENVIRONMENTS must be comma-separated environment names' })
  ROLLGATE_GATEWAY_ENVIRONMENTS = 'production';

  /** The most environments held in memory at once; past it the least recently read (not listed above) is let go. */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(10_000)
  ROLLGATE_GATEWAY_MAX_ENVIRONMENTS = 100;

  /** How long a read with Rollgate-Read-After (or a write's reply) waits for the local state to reach a version (ms). */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(60_000)
  ROLLGATE_GATEWAY_READ_AFTER_TIMEOUT_MS = 2_000;

  /** OFREP requests per second per client token and client address (a token bucket twice that deep); 0: no limit. */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  ROLLGATE_OFREP_RATE_LIMIT = 100;

  /** Origins allowed to call OFREP from a browser (comma-separated, or `*`). */
  @IsString()
  ROLLGATE_OFREP_CORS_ORIGINS = '*';
}
