import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type InjectionToken,
  type OnModuleDestroy,
  type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import type { EvaluationContext } from '#rollgate/evaluation';
import { RollgateClient, type RollgateClientOptions } from '../rollgate.client.js';

export const ROLLGATE_OPTIONS = Symbol('ROLLGATE_OPTIONS');

export interface RollgateModuleOptions extends RollgateClientOptions {
  /** More environments served by this app (each gets its own client); `@RequireFlag(key, { environment })` picks one. */
  extraEnvironments?: string[];
  /** Builds the evaluation context of a request. Default: `{ userId: request.user?.id ?? header x-user-id }`. */
  contextFromRequest?: (request: unknown) => EvaluationContext;
  /** What a gated route answers when the flag is off: 404 (default, the route does not exist) or 403. */
  deniedStatus?: 403 | 404;
  /** Wait for the first snapshot before the app starts (default true). */
  waitForReady?: boolean;
}

export interface RollgateModuleAsyncOptions {
  imports?: DynamicModule['imports'];
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory: (...args: never[]) => RollgateModuleOptions | Promise<RollgateModuleOptions>;
}

/** Every client of the app, one per environment; closed when the module is destroyed. */
@Injectable()
export class RollgateClients implements OnModuleDestroy {
  constructor(
    readonly primary: RollgateClient,
    private readonly byEnvironment: ReadonlyMap<string, RollgateClient>,
  ) {}

  get(environment?: string): RollgateClient | undefined {
    return environment === undefined ? this.primary : this.byEnvironment.get(environment);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.byEnvironment.values()].map((client) => client.close()));
  }
}

async function createClients(options: RollgateModuleOptions): Promise<RollgateClients> {
  const open = (environment: string) => {
    const clientOptions = { ...options, environment };
    return options.waitForReady === false ? Promise.resolve(RollgateClient.create(clientOptions)) : RollgateClient.connect(clientOptions);
  };
  const environments = [options.environment, ...(options.extraEnvironments ?? []).filter((e) => e !== options.environment)];
  const settled = await Promise.allSettled(environments.map(open));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.close() : Promise.resolve())));
    throw failed.reason;
  }
  const clients = settled.map((s) => (s as PromiseFulfilledResult<RollgateClient>).value);
  return new RollgateClients(clients[0]!, new Map(clients.map((c) => [c.environment, c])));
}

const sharedProviders: Provider[] = [
  { provide: RollgateClients, useFactory: createClients, inject: [ROLLGATE_OPTIONS] },
  { provide: RollgateClient, useFactory: (clients: RollgateClients) => clients.primary, inject: [RollgateClients] },
];

/**
 * `RollgateModule.forRoot({ environment, servers })` makes `RollgateClient` injectable (global), closes it on
 * shutdown, and enables `@RequireFlag` on routes.
 */
@Module({})
export class RollgateModule {
  static forRoot(options: RollgateModuleOptions): DynamicModule {
    return {
      module: RollgateModule,
      global: true,
      providers: [{ provide: ROLLGATE_OPTIONS, useValue: options }, ...sharedProviders],
      exports: [RollgateClient, RollgateClients, ROLLGATE_OPTIONS],
    };
  }

  static forRootAsync(options: RollgateModuleAsyncOptions): DynamicModule {
    return {
      module: RollgateModule,
      global: true,
      imports: options.imports ?? [],
      providers: [{ provide: ROLLGATE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }, ...sharedProviders],
      exports: [RollgateClient, RollgateClients, ROLLGATE_OPTIONS],
    };
  }
}

/** Injects the primary environment's client (also injectable by its class). */
export const InjectRollgate = (): ParameterDecorator => Inject(RollgateClient);
