import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnModuleDestroy,
  Inject,
  Injectable,
  Logger,
  Module,
} from '@nestjs/common';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

/** Injection token of the process's single NatsConnection. */
export const NATS_CONNECTION = Symbol('NATS_CONNECTION');

export interface NatsModuleOptions {
  servers: string | string[];
  /** Connection name shown in the server's monitoring (`connz`); use the service name. */
  name: string;
  /** Any further @nats-io connection option (auth, reconnect policy). */
  connection?: Omit<NodeConnectionOptions, 'servers' | 'name'>;
}

/** Something that must stop before the connection drains: a publisher, a durable consumer. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * True when the connection is open and the server answers a PING within `timeoutMs`. For /health/ready:
 * a closed, draining or disconnected (flush pending) connection is not ready.
 */
export async function natsReady(nc: NatsConnection, timeoutMs = 1000): Promise<boolean> {
  if (nc.isClosed() || nc.isDraining()) return false;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([nc.flush().then(() => true), timedOut]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Logs connection status changes (reconnects, disconnects, errors) until the connection closes. */
export function logNatsStatus(nc: NatsConnection, logger: Pick<Logger, 'log' | 'warn' | 'error'>): void {
  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'reconnect':
          logger.log(`nats reconnected to ${s.server}`);
          break;
        case 'disconnect':
          logger.warn(`nats disconnected from ${s.server}`);
          break;
        case 'reconnecting':
          logger.warn('nats reconnecting');
          break;
        case 'error':
          logger.error(`nats error: ${String(s.error)}`);
          break;
        default:
          break;
      }
    }
  })();
}

/**
 * Owns the shutdown order. Intakes (the queue-group subscriptions of commands and queries) stop first, in the
 * first shutdown hook, while everything their in-flight handlers need still runs: the other replicas of the group
 * take new requests, and the held ones are answered. Then the registered stoppables (consumers, the publisher)
 * stop, then the connection drains, so in-flight handlers finish and their acks still reach the server.
 */
@Injectable()
export class NatsLifecycle implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger('Nats');
  private readonly stoppables = new Set<Stoppable>();
  private readonly intakes = new Set<Stoppable>();

  constructor(@Inject(NATS_CONNECTION) readonly connection: NatsConnection) {}

  register(stoppable: Stoppable): void {
    this.stoppables.add(stoppable);
  }

  /** Something that takes requests and must stop before anything its handlers use does. */
  registerIntake(intake: Stoppable): void {
    this.intakes.add(intake);
  }

  async onModuleDestroy(): Promise<void> {
    const results = await Promise.allSettled([...this.intakes].map((s) => s.stop()));
    for (const r of results) if (r.status === 'rejected') this.logger.error(`intake stop failed: ${String(r.reason)}`);
    this.intakes.clear();
  }

  ready(timeoutMs?: number): Promise<boolean> {
    return natsReady(this.connection, timeoutMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const results = await Promise.allSettled([...this.stoppables].map((s) => s.stop()));
    for (const r of results) if (r.status === 'rejected') this.logger.error(`stop failed: ${String(r.reason)}`);
    this.stoppables.clear();
    if (!this.connection.isClosed() && !this.connection.isDraining()) await this.connection.drain();
  }
}

@Module({})
export class NatsModule {
  /** One NatsConnection for the app, under NATS_CONNECTION; NatsLifecycle drains it on shutdown. */
  static forRoot(options: NatsModuleOptions): DynamicModule {
    return {
      module: NatsModule,
      global: true,
      providers: [
        {
          provide: NATS_CONNECTION,
          useFactory: async (): Promise<NatsConnection> => {
            const nc = await connect({
              maxReconnectAttempts: -1,
              ...options.connection,
              servers: options.servers,
              name: options.name,
            });
            logNatsStatus(nc, new Logger('Nats'));
            return nc;
          },
        },
        NatsLifecycle,
      ],
      exports: [NATS_CONNECTION, NatsLifecycle],
    };
  }
}
