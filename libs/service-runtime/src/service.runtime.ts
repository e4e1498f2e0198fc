import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import { CommandHandler } from '#rollgate/commands';
import { PgLeaderElection, PostgresEventStore, ProjectionRunner } from '#rollgate/event-store';
import { EventPublisher, ensureEventStream, NATS_CONNECTION, NatsLifecycle } from '#rollgate/messaging';
import { publisherMetrics } from './runtime.metrics.js';
import { EVENT_STORE, PG_POOL } from './runtime.tokens.js';
import type { ServiceDefinition } from './service.definition.js';
import { ServiceEnv } from './service.env.js';

export const SERVICE_DEFINITION = Symbol('SERVICE_DEFINITION');

/**
 * The kit's background parts: the async projection runners and the outbox publisher, woken by every commit of
 * the command handler. Started once (a hybrid app runs bootstrap hooks twice); the publisher stops through
 * NatsLifecycle before the drain, the runners before the pool ends.
 */
@Injectable()
export class ServiceRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Runtime');
  private readonly runners = new Map<string, ProjectionRunner>();
  private started = false;
  publisher: EventPublisher | undefined;

  constructor(
    @Inject(SERVICE_DEFINITION) private readonly definition: ServiceDefinition,
    private readonly env: ServiceEnv,
    private readonly commands: CommandHandler,
    private readonly nats: NatsLifecycle,
    @Inject(PG_POOL) pool: Pool,
    @Inject(EVENT_STORE) private readonly store: PostgresEventStore,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly registry: Registry,
  ) {
    for (const spec of definition.asyncProjections ?? []) {
      const projection = spec.create();
      this.runners.set(
        projection.name,
        new ProjectionRunner(pool, projection, {
          idleDelayMs: spec.pollMs?.(env) ?? 100,
          onError: (error) => this.logger.error({ msg: `projection ${projection.name} failed`, err: error }),
        }),
      );
    }
  }

  /** The runner of an async projection, by the projection's name. */
  runner(name: string): ProjectionRunner {
    const runner = this.runners.get(name);
    if (runner === undefined) throw new Error(`no async projection named ${name}`);
    return runner;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const runner of this.runners.values()) runner.start();
    const publisher = this.definition.publisher?.(this.env) ?? { enabled: true };
    if (publisher.enabled) await this.startPublisher(publisher.stream);
  }

  private async startPublisher(stream: string | undefined): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const maxPayload = this.nc.info?.max_payload;
    if (maxPayload !== undefined && this.commands.maxEventBytes > maxPayload) {
      this.logger.warn(
        `ROLLGATE_MAX_EVENT_BYTES (${this.commands.maxEventBytes}) is above the NATS server's max_payload (${maxPayload}): ` +
          'events between the two are stored but parked by the publisher, never delivered',
      );
    }
    const publisher = new EventPublisher({
      service: this.definition.name,
      store: this.store,
      leaderElection: new PgLeaderElection(this.env.DATABASE_URL),
      js: jetstream(this.nc),
      jsm,
      target: { ...(stream === undefined ? {} : { stream }), subjectRoot: this.env.ROLLGATE_EVENT_SUBJECT_ROOT },
      maxPayload: () => this.nc.info?.max_payload,
      metrics: publisherMetrics(this.registry),
      logger: {
        log: (message) => this.logger.log(message),
        warn: (message) => this.logger.warn(message),
        error: (message) => this.logger.error(message),
      },
    });
    await ensureEventStream(jsm, publisher.target, { replicas: this.env.ROLLGATE_STREAM_REPLICAS });
    this.publisher = publisher;
    this.nats.register(publisher);
    publisher.start();
    this.recheckOnReconnect(publisher);
    // A command's events leave for JetStream right after its commit instead of at the next idle poll.
    this.commands.onCommitted((last) => publisher.wake(last));
  }

  /** A reconnect may follow a partition in which another replica took the lead: the leader asks again. */
  private recheckOnReconnect(publisher: EventPublisher): void {
    void (async () => {
      for await (const status of this.nc.status()) if (status.type === 'reconnect') publisher.recheckLeadership();
    })();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.runners.values()].map((runner) => runner.stop()));
  }
}
