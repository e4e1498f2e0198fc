import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '#rollgate/service-runtime';
import { TokenTable } from './auth/token-table.js';
import { TokenUsageWriter } from './auth/token-usage.js';
import { apiTokenAggregate } from './tokens/api-token.decider.js';
import { GatewayEnv } from './gateway.config.js';

/**
 * Refuses a database that holds another aggregate's streams: the gateway's must be its own. Shared with a
 * service, that service's outbox publisher would put the token events, hashes included, on its `rg.evt.*` stream,
 * which SDK clients read.
 */
export async function assertOwnDatabase(pool: Pick<Pool, 'query'>): Promise<void> {
  const { rows } = await pool.query<{ stream_type: string }>(
    'SELECT DISTINCT stream_type FROM es.streams WHERE stream_type <> $1 LIMIT 5',
    [apiTokenAggregate.name],
  );
  if (rows.length > 0) {
    throw new Error(
      `the gateway's database holds ${rows.map((row) => row.stream_type).join(', ')} streams: it needs a database of its own ` +
        '(rollgate_gateway), or another service would publish its token events',
    );
  }
}

/**
 * The gateway's background parts: before it listens, the database check and the token table's catch-up (so the
 * first request knows every token), then the table's poll and the batched last-use writes. On shutdown the poll
 * stops and the last uses are written before the pool ends.
 */
@Injectable()
export class GatewayRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Gateway');
  private flushTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly env: GatewayEnv,
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly table: TokenTable,
    private readonly usage: TokenUsageWriter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await assertOwnDatabase(this.pool);
    await this.table.catchUp();
    this.table.start();
    this.flushTimer = setInterval(() => void this.flushUsage(), this.env.ROLLGATE_GATEWAY_TOKEN_USAGE_FLUSH_MS);
  }

  async flushUsage(): Promise<void> {
    try {
      await this.usage.flush();
    } catch (error) {
      this.logger.error({ msg: 'token last-use write failed (kept for the next one)', err: error });
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.table.stop();
    await this.flushUsage();
  }
}
