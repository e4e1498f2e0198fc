import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
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
}
