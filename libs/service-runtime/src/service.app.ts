import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { queueGroup } from '#rollgate/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_CONNECTION, NatsLifecycle, natsLogin, natsMicroserviceOptions, natsServers } from '#rollgate/messaging';
import {
  closeHttp,
  createLogger,
  createValidationPipe,
  HttpErrorFilter,
  PinoLoggerService,
  registerCorrelationIdHooks,
  RpcErrorFilter,
  type Environment,
} from '#rollgate/platform';
import { NatsCorrelationInterceptor } from './nats-correlation.interceptor.js';
import { maxReplyBytes, ReplySizeInterceptor } from './reply-size.interceptor.js';
import type { ServiceDefinition } from './service.definition.js';
import type { ServiceEnv } from './service.env.js';
import { ServiceModule } from './service.module.js';

/** What the shutdown needs of Nest's NATS server, which keeps its subscriptions to itself. */
interface NatsServerInternals {
  subscriptions: { drain(): Promise<void> }[];
  close(): Promise<void>;
}

/**
 * The hybrid app of a service: Fastify for /health and /metrics, Nest's NATS transport (raw envelopes, the
 * service's queue group) for its commands and queries. Started by `runService` and, in-process, by tests.
 */
export async function createServiceApp<Env extends ServiceEnv>(
  definition: ServiceDefinition<Env>,
  env: Env,
  rawEnv: Environment = process.env,
): Promise<NestFastifyApplication> {
  const logger = new PinoLoggerService(createLogger({ service: env.ROLLGATE_SERVICE_NAME, level: env.ROLLGATE_LOG_LEVEL }));
  const app = await NestFactory.create<NestFastifyApplication>(ServiceModule.forRoot(definition, env, rawEnv), new FastifyAdapter(), {
    logger,
  });
  registerCorrelationIdHooks(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalPipes(createValidationPipe());
  // Exit 0 after a clean shutdown (Nest would otherwise re-raise the signal), 1 after a failed one.
  app.enableShutdownHooks([], { useProcessExit: true });
  const microservice = app.connectMicroservice(
    natsMicroserviceOptions({
      servers: natsServers(env),
      name: `${env.ROLLGATE_SERVICE_NAME}-rpc`,
      queue: queueGroup(definition.name),
      login: natsLogin(env),
    }),
    // Deferred, so the pipe, filter and interceptor below apply (an initialized microservice ignores them).
    { deferInitialization: true },
  );
  microservice.useGlobalPipes(createValidationPipe());
  microservice.useGlobalFilters(new RpcErrorFilter());
  const nc = app.get<NatsConnection>(NATS_CONNECTION);
  // Nest closes microservices after every beforeApplicationShutdown hook (the publisher, the runners, the main
  // connection's drain), so requests kept arriving at a stopping replica and timed out. The intake stops first
  // instead: its subscriptions drain (the server stops routing to this replica; requests already delivered are
  // still handled, where Nest's close would unsubscribe and drop them), then the transport's own close (a grace
  // period for the replies, then disconnect).
  const server = (microservice as unknown as { serverInstance: NatsServerInternals }).serverInstance;
  app.get(NatsLifecycle).registerIntake({
    stop: async () => {
      await Promise.allSettled(server.subscriptions.map((subscription) => subscription.drain()));
      await server.close();
    },
  });
  app.get(NatsLifecycle).registerIntake({ stop: () => closeHttp(app.getHttpAdapter().getInstance()) });
  microservice.useGlobalInterceptors(new NatsCorrelationInterceptor(), new ReplySizeInterceptor(() => maxReplyBytes(nc)));
  // init() runs the bootstrap hooks (catch-ups, seeds) before any subscription exists.
  await app.init();
  await app.startAllMicroservices();
  await app.listen(env.ROLLGATE_HTTP_PORT, env.ROLLGATE_HTTP_HOST);
  return app;
}
