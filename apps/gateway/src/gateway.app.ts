import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { DestinationStream } from 'pino';
import { Registry } from 'prom-client';
import { NatsLifecycle } from '#rollgate/messaging';
import {
  closeHttp,
  HttpErrorFilter,
  PinoLoggerService,
  createLogger,
  createValidationPipe,
  loadConfig,
  registerCorrelationIdHooks,
  type Environment,
} from '#rollgate/platform';
import { GatewayEnv } from './gateway.config.js';
import { GatewayModule } from './gateway.module.js';
import { clientErrorHandler, frameworkErrors } from './http/framework-errors.js';
import { registerHttpMetrics } from './http/http-metrics.js';
import { applyRouteBodyLimits, BODY_LIMIT_BYTES } from './http/body-limits.js';
import { TOKEN_AUTHENTICATOR } from './auth/principal.js';
import { EnvironmentStates } from './edge/environment-states.js';
import { registerOfrepRoutes } from './edge/ofrep.routes.js';

export { BODY_LIMIT_BYTES } from './http/body-limits.js';
export const API_PREFIX = 'api/v1';

export interface GatewayAppOptions {
  /** Defaults to process.env. */
  env?: Environment;
  /** Log destination (tests); stdout by default. */
  logDestination?: DestinationStream;
}

/**
 * Builds the gateway (not listening): main.ts and the integration tests share this, so the tests exercise the
 * real wiring. Throws ConfigError listing every bad variable (ROLLGATE_ADMIN_TOKEN is required).
 */
export const createGatewayApp = async (
  options: GatewayAppOptions = {},
): Promise<{ app: NestFastifyApplication; env: GatewayEnv }> => {
  const env = loadConfig(GatewayEnv, options.env ?? process.env);
  const logger = new PinoLoggerService(
    createLogger({ service: env.ROLLGATE_SERVICE_NAME, level: env.ROLLGATE_LOG_LEVEL, destination: options.logDestination }),
  );
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.forRoot(env),
    // maxParamLength above Fastify's 100, so an over-long key reaches KeyParamPipe (400 GENERIC.VALIDATION), not 414 FST_ERR_*.
    // frameworkErrors / clientErrorHandler: Fastify's and Node's own answers (414, 431, …) in the API's error shape.
    new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, routerOptions: { maxParamLength: 1_000 }, frameworkErrors, clientErrorHandler }),
    { bufferLogs: true, logger },
  );
  app.useLogger(logger);
  const fastify = app.getHttpAdapter().getInstance();
  // Before the routes are registered (at init): list routes take larger bodies.
  applyRouteBodyLimits(fastify);
  registerCorrelationIdHooks(fastify);
  registerHttpMetrics(fastify, app.get(Registry));
  registerOfrepRoutes(fastify, { authenticator: app.get(TOKEN_AUTHENTICATOR), states: app.get(EnvironmentStates), env });
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalPipes(createValidationPipe());
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health/live', 'health/ready', 'metrics'] });
  // Exit 0 after a clean shutdown (Nest would otherwise re-raise the signal). HTTP stops first, while NATS is still
  // up for the requests in flight: Nest closes it only after the connection drained, and waits out keep-alives.
  app.enableShutdownHooks([], { useProcessExit: true });
  app.get(NatsLifecycle).registerIntake({ stop: () => closeHttp(fastify) });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Rollgate API')
      .setDescription('Feature flags, canary releases and rollbacks. Errors: { code, message, details }.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An opaque API token, not a JWT: Authorization: Bearer <token>' })
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  return { app, env };
};
