import { Module, type DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';
import { NatsLifecycle, NatsModule, natsLogin, natsServers } from '#rollgate/messaging';
import { ConfigModule, HealthModule, MetricsModule, UnavailableError, type Environment } from '#rollgate/platform';
import { PG_POOL } from './runtime.tokens.js';
import type { ServiceDefinition } from './service.definition.js';
import { ServiceEnv } from './service.env.js';
import { SERVICE_DEFINITION, ServiceRuntime } from './service.runtime.js';
import { commandHandlerProvider, StoreModule } from './store.providers.js';

@Module({})
export class ServiceModule {
  /**
   * One module for the kit and the service's own controllers and providers, so a service's providers (its inline
   * projection, its position waiter) are visible to the kit's command handler without exports.
   */
  static forRoot<Env extends ServiceEnv>(definition: ServiceDefinition<Env>, env: Env, rawEnv: Environment): DynamicModule {
    return {
      module: ServiceModule,
      imports: [
        ConfigModule.forRoot(definition.env, { env: rawEnv }),
        MetricsModule.forRoot({ service: env.ROLLGATE_SERVICE_NAME }),
        NatsModule.forRoot({ servers: natsServers(env), name: env.ROLLGATE_SERVICE_NAME, connection: natsLogin(env) }),
        StoreModule.forRoot(definition.env),
        HealthModule.forRootAsync({
          inject: [PG_POOL, NatsLifecycle],
          useFactory: (pool: Pool, nats: NatsLifecycle) => ({
            postgres: () => pool.query('SELECT 1'),
            nats: async () => {
              if (!(await nats.ready())) throw new UnavailableError('NATS is not connected');
            },
          }),
        }),
      ],
      controllers: definition.controllers,
      providers: [
        { provide: SERVICE_DEFINITION, useValue: definition },
        { provide: ServiceEnv, useExisting: definition.env },
        commandHandlerProvider,
        ServiceRuntime,
        ...definition.providers,
      ],
    };
  }
}
