import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { ToNumber } from './env.transforms.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const POSTGRES_URL = /^postgres(ql)?:\/\/\S+$/;
// nats.js accepts a comma-separated server list
const NATS_URLS = /^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/;
const NATS_USER = /^[a-z][a-z0-9_-]{0,62}$/;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * The variables every Rollgate process reads. A service extends it with its own and overrides defaults
 * (`override ROLLGATE_SERVICE_NAME = 'flags'`, `override ROLLGATE_HTTP_PORT = 8081`).
 */
export class BaseEnv {
  /** The service role: INSERT/SELECT on the log, owns nothing. */
  @Matches(POSTGRES_URL, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://rollgate_app@127.0.0.1:5432/rollgate';

  /** The owner role, used only to run migrations. */
  @Matches(POSTGRES_URL, { message: 'ROLLGATE_MIGRATION_DATABASE_URL must be a postgres:// URL' })
  ROLLGATE_MIGRATION_DATABASE_URL = 'postgres://rollgate_owner@127.0.0.1:5432/rollgate';

  @Matches(NATS_URLS, { message: 'NATS_URL must be one or more comma-separated nats:// (tls, ws, wss) URLs' })
  NATS_URL = 'nats://127.0.0.1:4222';

  /** The NATS user this process logs in as (deploy/nats/rollgate.conf); unset connects anonymously. */
  @IsOptional()
  @Matches(NATS_USER, { message: 'NATS_USER must be lower-case letters, digits, dashes or underscores' })
  NATS_USER?: string;

  /** NATS_USER's password (from a Secret or .rollgate/nats/credentials.env, never from code). */
  @ValidateIf((env: BaseEnv) => env.NATS_USER !== undefined)
  @IsString({ message: 'NATS_PASSWORD is required with NATS_USER' })
  NATS_PASSWORD?: string;

  /** Reply inbox prefix; default `_INBOX_<NATS_USER>`, the one inbox the user's permissions allow. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'NATS_INBOX_PREFIX must be one subject token' })
  NATS_INBOX_PREFIX?: string;

  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(65535)
  ROLLGATE_HTTP_PORT = 3000;

  @IsString()
  ROLLGATE_HTTP_HOST = '127.0.0.1';

  @IsIn(LOG_LEVELS)
  ROLLGATE_LOG_LEVEL: LogLevel = 'info';

  /** Required unless the service's env class gives a default; it labels logs and metrics. */
  @Matches(SERVICE_NAME, { message: 'ROLLGATE_SERVICE_NAME must be lower-case letters, digits and dashes' })
  ROLLGATE_SERVICE_NAME!: string;
}
