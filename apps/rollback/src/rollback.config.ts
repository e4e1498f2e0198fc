import { IsBoolean, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';
import { ToBoolean, ToNumber } from '#rollgate/platform';
import { ServiceEnv } from '#rollgate/service-runtime';

/** The rollback service's variables, validated once at boot (see README). */
export class RollbackEnv extends ServiceEnv {
  override ROLLGATE_SERVICE_NAME = 'rollback';
  override ROLLGATE_HTTP_PORT = 3002;

  /** Create the seed's default plan `emergency_auto_submit` on start (idempotent). */
  @ToBoolean()
  @IsBoolean()
  ROLLGATE_ROLLBACK_SEED = true;

  @ToBoolean()
  @IsBoolean()
  ROLLGATE_ROLLBACK_PUBLISHER = true;

  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'ROLLGATE_ROLLBACK_EVENT_STREAM must be a JetStream stream name' })
  ROLLGATE_ROLLBACK_EVENT_STREAM = 'RG_EVT_ROLLBACK';

  /** The seed's variable: seconds between two looks of the criteria watcher at automatic plans' outcomes. */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(86_400)
  ROLLBACK_CHECK_INTERVAL = 30;

  /** How often the executor looks for runnable executions written by other replicas or due timers (ms). */
  @ToNumber()
  @IsInt()
  @Min(10)
  @Max(60_000)
  ROLLGATE_ROLLBACK_POLL_MS = 250;

  /** Executions run at once by this process. */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(1_000)
  ROLLGATE_ROLLBACK_CONCURRENCY = 32;

  /** Flag commands in flight at once within one step (restoring an environment of 1 000 flags). */
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(256)
  ROLLGATE_ROLLBACK_FLAG_CONCURRENCY = 64;

  /** Deadline of each request to the flags (and canary) service. */
  @ToNumber()
  @IsInt()
  @Min(50)
  @Max(120_000)
  ROLLGATE_ROLLBACK_BUS_TIMEOUT_MS = 5_000;

  /** The SDKs' status period (their `statusIntervalMs`): a client silent for 3 of them no longer counts. */
  @ToNumber()
  @IsInt()
  @Min(10)
  @Max(600_000)
  ROLLGATE_ROLLBACK_SDK_STATUS_INTERVAL_MS = 5_000;

  /** How long a cancel reply waits for the execution to stop between steps before answering `running`. */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(60_000)
  ROLLGATE_ROLLBACK_CANCEL_WAIT_MS = 5_000;

  /** How long an emergency waits for the execution it preempted to finish its step in flight. */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(120_000)
  ROLLGATE_ROLLBACK_PREEMPT_WAIT_MS = 10_000;

  /** How long the consistency check waits for SDK clients to report the execution's last change. */
  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(120_000)
  ROLLGATE_ROLLBACK_CONSISTENCY_WAIT_MS = 10_000;

  /** HMAC-SHA256 key of webhook signatures; webhooks are sent unsigned without it. */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'ROLLGATE_ROLLBACK_WEBHOOK_SECRET must be at least 16 characters' })
  ROLLGATE_ROLLBACK_WEBHOOK_SECRET?: string;

  /** Kubernetes API server; with ROLLGATE_ROLLBACK_KUBE_IN_CLUSTER the service account's instead. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  ROLLGATE_ROLLBACK_KUBE_API_URL?: string;

  @IsOptional()
  @IsString()
  ROLLGATE_ROLLBACK_KUBE_TOKEN?: string;

  @ToBoolean()
  @IsBoolean()
  ROLLGATE_ROLLBACK_KUBE_IN_CLUSTER = false;

  /** Accept a self-signed API server certificate (development clusters only). */
  @ToBoolean()
  @IsBoolean()
  ROLLGATE_ROLLBACK_KUBE_INSECURE = false;
}
