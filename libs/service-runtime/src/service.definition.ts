import type { Provider, Type } from '@nestjs/common';
import type { MigrationInterface } from 'typeorm';
import type { ServiceName } from '#rollgate/contracts';
import type { Projection } from '#rollgate/event-store';
import type { EnvClass } from '#rollgate/platform';
import type { ServiceEnv } from './service.env.js';

type MigrationClass = new () => MigrationInterface;

/** An async read model: rebuilt by `main.js rebuild`, run by a projection runner while the service serves. */
export interface AsyncProjection<Env> {
  create(): Projection;
  /** Idle poll interval of its runner (ms); default 100. */
  pollMs?(env: Env): number;
}

/**
 * What a service provides; the kit gives it the rest (config, logs, metrics, health and readiness, the NATS
 * connection and microservice, the store and the command handler, the outbox publisher woken on commit, the
 * projection runners, graceful drain, and the `migrate` and `rebuild` sub-commands).
 */
export interface ServiceDefinition<Env extends ServiceEnv = ServiceEnv> {
  name: ServiceName;
  env: EnvClass<Env>;
  /** The event store's, then the service's own read models'. */
  migrations: readonly MigrationClass[];
  controllers: Type[];
  providers: Provider[];
  /** The inline read model (rebuilt with the async ones), if the service has one. */
  inlineProjection?: () => Projection;
  asyncProjections?: readonly AsyncProjection<Env>[];
  /** Whether the outbox publisher runs, and to which stream (tests turn it off or point it elsewhere). */
  publisher?(env: Env): { enabled: boolean; stream?: string };
}
