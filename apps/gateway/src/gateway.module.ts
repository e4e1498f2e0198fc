import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Pool } from 'pg';
import type { EventStore } from '#rollgate/event-store';
import { NatsLifecycle, NatsModule, natsLogin, natsServers } from '#rollgate/messaging';
import { ConfigModule, HealthModule, MetricsModule, UnavailableError } from '#rollgate/platform';
import {
  commandHandlerProvider,
  EVENT_STORE,
  INLINE_PROJECTION,
  PG_POOL,
  ServiceEnv,
  StoreModule,
} from '#rollgate/service-runtime';
import { AuditController } from './audit/audit.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { BearerAuthenticator } from './auth/bearer.authenticator.js';
import { TOKEN_AUTHENTICATOR } from './auth/principal.js';
import { StaticTokenAuthenticator } from './auth/static-token.authenticator.js';
import { TokenTable } from './auth/token-table.js';
import { TokenUsageWriter } from './auth/token-usage.js';
import { CanaryClient } from './bus/canary.client.js';
import { FlagsClient } from './bus/flags.client.js';
import { RollbackClient } from './bus/rollback.client.js';
import { CanariesController, FlagCanaryController } from './canaries/canaries.controller.js';
import { EnvironmentStates } from './edge/environment-states.js';
import { EnvironmentsController } from './environments/environments.controller.js';
import { FeatureFlagsController } from './feature-flags/feature-flags.controller.js';
import { GatewayEnv } from './gateway.config.js';
import { GatewayRuntime } from './gateway.runtime.js';
import { FlagRollbackController, RollbacksController } from './rollbacks/rollbacks.controller.js';
import { MemberLists } from './segments/member-lists.js';
import { SegmentsController } from './segments/segments.controller.js';
import { ApiTokenAuditController } from './tokens/api-token-audit.controller.js';
import { ApiTokenProjection } from './tokens/api-token.projection.js';
import { ApiTokenQueries } from './tokens/api-token.query.js';
import { ApiTokenService } from './tokens/api-token.service.js';
import { ApiTokensController } from './tokens/api-tokens.controller.js';

const tableLogger = new Logger('TokenTable');

/**
 * Config, NATS, auth, health, metrics and thin controllers; the gateway's own database (rollgate_gateway) holds
 * only its API tokens, on the kit's event store and command core.
 */
@Module({})
export class GatewayModule {
  static forRoot(env: GatewayEnv): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot(GatewayEnv, { env: { ...env } as unknown as Record<string, string> }),
        NatsModule.forRoot({ servers: natsServers(env), name: env.ROLLGATE_SERVICE_NAME, connection: natsLogin(env) }),
        MetricsModule.forRoot({ service: env.ROLLGATE_SERVICE_NAME }),
        StoreModule.forRoot(GatewayEnv),
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
      controllers: [
        FeatureFlagsController,
        FlagRollbackController,
        RollbacksController,
        FlagCanaryController,
        CanariesController,
        AuditController,
        EnvironmentsController,
        SegmentsController,
        ApiTokensController,
        ApiTokenAuditController,
      ],
      providers: [
        EnvironmentStates,
        FlagsClient,
        RollbackClient,
        CanaryClient,
        commandHandlerProvider,
        { provide: ServiceEnv, useExisting: GatewayEnv },
        { provide: INLINE_PROJECTION, useValue: new ApiTokenProjection() },
        {
          provide: TokenTable,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore) =>
            new TokenTable(store, {
              pollIntervalMs: env.ROLLGATE_GATEWAY_TOKEN_POLL_MS,
              onError: (error) => tableLogger.error({ msg: 'token table read failed', err: error }),
            }),
        },
        {
          provide: TokenUsageWriter,
          inject: [PG_POOL, TokenTable],
          useFactory: (pool: Pool, table: TokenTable) => new TokenUsageWriter(pool, table),
        },
        {
          provide: TOKEN_AUTHENTICATOR,
          inject: [TokenTable],
          useFactory: (table: TokenTable) =>
            new BearerAuthenticator(new StaticTokenAuthenticator(env.ROLLGATE_ADMIN_TOKEN), table),
        },
        ApiTokenService,
        ApiTokenQueries,
        GatewayRuntime,
        MemberLists,
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    };
  }
}
