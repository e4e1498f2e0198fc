import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { queueGroup } from '#rollgate/contracts';
import { natsMicroserviceOptions } from '#rollgate/messaging';
import {
  createLogger,
  createValidationPipe,
  HttpErrorFilter,
  PinoLoggerService,
  registerCorrelationIdHooks,
  RpcErrorFilter,
  type Environment,
} from '#rollgate/platform';
import { AppModule } from './app.module.js';
import { FlagsEnv } from './flags.config.js';
import { NatsCorrelationInterceptor } from './nats-correlation.interceptor.js';

/**
 * The hybrid app: Fastify for /health and /metrics, Nest's NATS transport (raw envelopes, queue group
 * `flags-svc`) for every command and query. Started by main.ts and, in-process, by the integration tests.
 */
export async function createFlagsApp(env: FlagsEnv, rawEnv: Environment = process.env): Promise<NestFastifyApplication> {
  const logger = new PinoLoggerService(createLogger({ service: env.ROLLGATE_SERVICE_NAME, level: env.ROLLGATE_LOG_LEVEL }));
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(env, rawEnv), new FastifyAdapter(), {
    logger,
  });
  registerCorrelationIdHooks(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  const microservice = app.connectMicroservice(
    natsMicroserviceOptions({ servers: env.NATS_URL.split(','), name: `${env.ROLLGATE_SERVICE_NAME}-rpc`, queue: queueGroup('flags') }),
    // Deferred, so the pipe, filter and interceptor below apply (an initialized microservice ignores them).
    { deferInitialization: true },
  );
  microservice.useGlobalPipes(createValidationPipe());
  microservice.useGlobalFilters(new RpcErrorFilter());
  microservice.useGlobalInterceptors(new NatsCorrelationInterceptor());
  // init() runs the bootstrap hooks (feed catch-up, seeds) before any subscription exists.
  await app.init();
  await app.startAllMicroservices();
  await app.listen(env.ROLLGATE_HTTP_PORT, env.ROLLGATE_HTTP_HOST);
  return app;
}
