import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { EnvClass } from '#rollgate/platform';
import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import { CommandHandler } from '#rollgate/commands';
import { createPool, PostgresEventStore } from '#rollgate/event-store';
import {
  APPLIED_POSITION_WAITER,
  CLOCK,
  EVENT_STORE,
  INLINE_PROJECTION,
  PG_POOL,
  type AppliedPositionWaiter,
  type InlineProjection,
} from './runtime.tokens.js';
import { commandMetrics } from './runtime.metrics.js';
import { ServiceEnv } from './service.env.js';

/** How long a command reply waits for this process's followers of the log to apply it (read-your-writes). */
export const APPLY_WAIT_MS = 2_000;

/** Ends the pool last, after every beforeApplicationShutdown hook (publisher, runners, consumers) has stopped. */
@Injectable()
export class PoolLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/** The pool, the store and the clock, global so that the health checks and every feature module see them. */
@Global()
@Module({})
export class StoreModule {
  static forRoot(envClass: EnvClass<ServiceEnv>): DynamicModule {
    return {
      module: StoreModule,
      providers: [
        {
          provide: PG_POOL,
          inject: [envClass],
          useFactory: (env: ServiceEnv): Pool =>
            createPool(env.DATABASE_URL, { max: env.ROLLGATE_DB_POOL_MAX, applicationName: env.ROLLGATE_SERVICE_NAME }),
        },
        { provide: EVENT_STORE, inject: [PG_POOL], useFactory: (pool: Pool) => new PostgresEventStore(pool) },
        { provide: CLOCK, useValue: () => new Date() },
        PoolLifecycle,
      ],
      exports: [PG_POOL, EVENT_STORE, CLOCK],
    };
  }
}

/** The command handler, beside the service's providers: it takes their inline projection and position waiter. */
export const commandHandlerProvider: Provider = {
  provide: CommandHandler,
  inject: [EVENT_STORE, ServiceEnv, Registry, { token: INLINE_PROJECTION, optional: true }, { token: APPLIED_POSITION_WAITER, optional: true }],
  useFactory: (store: PostgresEventStore, env: ServiceEnv, registry: Registry, inline?: InlineProjection, waiter?: AppliedPositionWaiter) =>
    new CommandHandler({
      store,
      metrics: commandMetrics(registry),
      maxEventBytes: env.ROLLGATE_MAX_EVENT_BYTES,
      ...(inline === undefined ? {} : { inline: (events, tx) => inline.apply(events, tx) }),
      ...(waiter === undefined ? {} : { afterCommit: (last) => waiter.waitFor(last, APPLY_WAIT_MS) }),
    }),
};

