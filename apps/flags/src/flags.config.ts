import { IsBoolean, IsInt, Matches, Max, Min } from 'class-validator';
import { ToBoolean, ToNumber } from '#rollgate/platform';
import { ServiceEnv } from '#rollgate/service-runtime';

/** The flags service's variables, validated once at boot (see README for each). */
export class FlagsEnv extends ServiceEnv {
  override ROLLGATE_SERVICE_NAME = 'flags';
  override ROLLGATE_HTTP_PORT = 3001;

  /** Create the five default flags on start (idempotent; an existing flag is left alone). */
  @ToBoolean()
  @IsBoolean()
  ROLLGATE_FLAGS_SEED = true;

  /** Run the outbox publisher (events to JetStream). Off only for tests that do not need the bus stream. */
  @ToBoolean()
  @IsBoolean()
  ROLLGATE_FLAGS_PUBLISHER = true;

  /** JetStream stream the publisher writes to (tests use their own). */
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'ROLLGATE_FLAGS_EVENT_STREAM must be a JetStream stream name' })
  ROLLGATE_FLAGS_EVENT_STREAM = 'RG_EVT_FLAGS';

  /** How often the evaluation engines poll the log for changes made by other replicas (ms). */
  @ToNumber()
  @IsInt()
  @Min(5)
  @Max(60_000)
  ROLLGATE_FLAGS_FEED_POLL_MS = 50;

  /** How often in-memory evaluation counts are added to flags.evaluation_counts (ms). */
  @ToNumber()
  @IsInt()
  @Min(100)
  @Max(600_000)
  ROLLGATE_FLAGS_COUNTS_FLUSH_MS = 5_000;

  /** Poll interval of the async audit projection (ms). */
  @ToNumber()
  @IsInt()
  @Min(10)
  @Max(60_000)
  ROLLGATE_FLAGS_AUDIT_POLL_MS = 200;

  /** Outcome batches waiting to be written; further ones are dropped and counted (rollgate_flags_outcome_batches_total). */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  ROLLGATE_FLAGS_OUTCOME_QUEUE_MAX = 10_000;

  /** How long a counted batch id is remembered, so a redelivered batch is not counted twice (hours). */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(24 * 90)
  ROLLGATE_FLAGS_OUTCOME_DEDUP_HOURS = 24;

  /** The SDKs' status period (their `statusIntervalMs`): clients silent for 3 of them no longer count as connected (ms). */
  @ToNumber()
  @IsInt()
  @Min(10)
  @Max(600_000)
  ROLLGATE_FLAGS_SDK_STATUS_INTERVAL_MS = 5_000;

  /** The most one page of a paged snapshot holds (JSON bytes); capped below the NATS server's max_payload. */
  @ToNumber()
  @IsInt()
  @Min(16 * 1024)
  @Max(64 * 1024 * 1024)
  ROLLGATE_FLAGS_SNAPSHOT_PAGE_BYTES = 512 * 1024;
}
