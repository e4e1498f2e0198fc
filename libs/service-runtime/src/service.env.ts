import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { DEFAULT_MAX_EVENT_BYTES } from '#rollgate/commands';
import { BaseEnv, ToNumber } from '#rollgate/platform';

/** The variables every service with an event store reads besides the platform's. */
export class ServiceEnv extends BaseEnv {
  /** Pool size of the service role's connections. */
  @ToNumber()
  @IsInt()
  @Min(2)
  @Max(200)
  ROLLGATE_DB_POOL_MAX = 10;

  /** Subject root of published events: `<root>.<service>.<aggregate>.<id>.<EventType>`. */
  @IsString()
  @Matches(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/, { message: 'ROLLGATE_EVENT_SUBJECT_ROOT must be dot-separated tokens' })
  ROLLGATE_EVENT_SUBJECT_ROOT = 'rg.evt';

  /**
   * The most one event may take on the bus once published (libs/commands `eventWireBytes`): a command deciding a
   * larger one is refused (`<AREA>.EVENT_TOO_LARGE`, 413) before anything is appended. Keep it below the NATS
   * server's max_payload (1 MiB by default); the service warns at start when it is not.
   */
  @ToNumber()
  @IsInt()
  @Min(16 * 1024)
  @Max(64 * 1024 * 1024)
  ROLLGATE_MAX_EVENT_BYTES = DEFAULT_MAX_EVENT_BYTES;

  /** Replicas of the service's JetStream event stream: 1 on one NATS server, 3 on a three-node cluster. */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(5)
  ROLLGATE_STREAM_REPLICAS = 1;
}
