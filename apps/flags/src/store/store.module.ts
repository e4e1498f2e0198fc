import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { createPool, PostgresEventStore } from '#rollgate/event-store';
import { FlagsEnv } from '../flags.config.js';
import { CLOCK, COMMAND_LOG, EVENT_STORE, PG_POOL, type CommandLog } from './store.tokens.js';

/** es.commands lookups: the service role may SELECT it. */
export class PgCommandLog implements CommandLog {
  constructor(private readonly pool: Pool) {}

  async find(commandId: string): Promise<{ streamId: string; version: number; position: bigint } | null> {
    const { rows } = await this.pool.query<{ stream_id: string; result_version: string; first_position: string }>(
      'SELECT stream_id, result_version, first_position FROM es.commands WHERE command_id = $1',
      [commandId],
    );
    const row = rows[0];
    return row ? { streamId: row.stream_id, version: Number(row.result_version), position: BigInt(row.first_position) } : null;
  }
}

/** Ends the pool last, after every beforeApplicationShutdown hook (publisher, feed, projections) has stopped. */
@Injectable()
export class PoolLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [FlagsEnv],
      useFactory: (env: FlagsEnv): Pool =>
        createPool(env.DATABASE_URL, { max: env.ROLLGATE_DB_POOL_MAX, applicationName: env.ROLLGATE_SERVICE_NAME }),
    },
    { provide: EVENT_STORE, inject: [PG_POOL], useFactory: (pool: Pool) => new PostgresEventStore(pool) },
    { provide: COMMAND_LOG, inject: [PG_POOL], useFactory: (pool: Pool) => new PgCommandLog(pool) },
    { provide: CLOCK, useValue: () => new Date() },
    PoolLifecycle,
  ],
  exports: [PG_POOL, EVENT_STORE, COMMAND_LOG, CLOCK],
})
export class StoreModule {}
