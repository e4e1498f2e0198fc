import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { NatsLifecycle, NatsModule } from '#rollgate/messaging';
import { ConfigModule, HealthModule, MetricsModule, UnavailableError } from '#rollgate/platform';
import { AuditController } from './audit/audit.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { TOKEN_AUTHENTICATOR } from './auth/principal.js';
import { StaticTokenAuthenticator } from './auth/static-token.authenticator.js';
import { FlagsClient } from './bus/flags.client.js';
import { EnvironmentsController } from './environments/environments.controller.js';
import { FeatureFlagsController } from './feature-flags/feature-flags.controller.js';
import { GatewayEnv } from './gateway.config.js';
import { MemberLists } from './segments/member-lists.js';
import { SegmentsController } from './segments/segments.controller.js';

/** The gateway owns no database: config, NATS, auth, health, metrics and thin controllers. */
@Module({})
export class GatewayModule {
  static forRoot(env: GatewayEnv): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot(GatewayEnv, { env: { ...env } as unknown as Record<string, string> }),
        NatsModule.forRoot({ servers: env.NATS_URL.split(','), name: env.ROLLGATE_SERVICE_NAME }),
        MetricsModule.forRoot({ service: env.ROLLGATE_SERVICE_NAME }),
        HealthModule.forRootAsync({
          inject: [NatsLifecycle],
          useFactory: (nats: NatsLifecycle) => ({
            nats: async () => {
              if (!(await nats.ready())) throw new UnavailableError('NATS is not connected');
            },
          }),
        }),
      ],
      controllers: [FeatureFlagsController, AuditController, EnvironmentsController, SegmentsController],
      providers: [
        FlagsClient,
        MemberLists,
        { provide: TOKEN_AUTHENTICATOR, useFactory: () => new StaticTokenAuthenticator(env.ROLLGATE_ADMIN_TOKEN) },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    };
  }
}
