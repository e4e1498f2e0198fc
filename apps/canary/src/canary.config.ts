import { IsBoolean, IsInt, Matches, Max, Min } from 'class-validator';
import { ToBoolean, ToNumber } from '#rollgate/platform';
import { ServiceEnv } from '#rollgate/service-runtime';

/** The canary service's variables, validated once at boot (see apps/canary/README.md for each). */
export class CanaryEnv extends ServiceEnv {
  override ROLLGATE_SERVICE_NAME = 'canary';
  override ROLLGATE_HTTP_PORT = 3003;

  /**
   * The seed's background monitoring interval (seconds): the longest an outcome window stays open before it is
   * recorded. A window closes at once when the judge would decide on it.
   */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(3_600)
  CANARY_MONITORING_INTERVAL = 60;

  /** How often each running canary is looked at: pending outcomes judged, stage durations and deadlines checked (ms). */
  @ToNumber()
  @IsInt()
  @Min(50)
  @Max(60_000)
  ROLLGATE_CANARY_LOOK_MS = 1_000;

  /**
   * After the rollback service accepted a regression's trigger, how long the canary waits for its execution to end
   * the canary (rg.cmd.canary.end) before restoring the flag itself (ms).
   */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(600_000)
  ROLLGATE_CANARY_ROLLBACK_GRACE_MS = 3_000;

  /** Timeout of each flags and rollback command the canary sends (ms). */
  @ToNumber()
  @IsInt()
  @Min(100)
  @Max(120_000)
  ROLLGATE_CANARY_BUS_TIMEOUT_MS = 5_000;

  /** How often the monitor reloads which canaries are active (other replicas' creates and starts) (ms). */
  @ToNumber()
  @IsInt()
  @Min(100)
  @Max(600_000)
  ROLLGATE_CANARY_REFRESH_MS = 2_000;

  /** Run the outbox publisher (events to JetStream). Off only for tests that do not need the bus stream. */
  @ToBoolean()
  @IsBoolean()
  ROLLGATE_CANARY_PUBLISHER = true;

  /** JetStream stream the publisher writes to (tests use their own). */
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'ROLLGATE_CANARY_EVENT_STREAM must be a JetStream stream name' })
  ROLLGATE_CANARY_EVENT_STREAM = 'RG_EVT_CANARY';
}
