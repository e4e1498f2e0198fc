import { Module, type DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';
import { NatsLifecycle, NatsModule } from '#rollgate/messaging';
import { ConfigModule, HealthModule, MetricsModule, UnavailableError, type Environment } from '#rollgate/platform';
import { FlagsEnv } from './flags.config.js';
import { FlagsModule } from './flags.module.js';
import { StoreModule } from './store/store.module.js';
import { PG_POOL } from './store/store.tokens.js';

@Module({})
export class AppModule {
  /** `env` is the already validated configuration (main.ts and tests load it once). */
  static forRoot(env: FlagsEnv, rawEnv: Environment = process.env): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(FlagsEnv, { env: rawEnv }),
        MetricsModule.forRoot({ service: env.ROLLGATE_SERVICE_NAME }),
        NatsModule.forRoot({ servers: env.NATS_URL.split(','), name: env.ROLLGATE_SERVICE_NAME }),
        StoreModule,
        HealthModule.forRootAsync({
          inject: [PG_POOL, NatsLifecycle],
          useFactory: (pool: Pool, nats: NatsLifecycle) => ({
            postgres: () => pool.query('SELECT 1'),
            nats: async () => {
              if (!(await nats.ready())) throw new UnavailableError('NATS is not connected');
            },
          }),
        }),
        FlagsModule,
      ],
    };
  }
}
