import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { NATS_CONNECTION } from '#rollgate/messaging';
import { RollgateError, UnavailableError } from '#rollgate/platform';
import { RollgateClient } from '#rollgate/sdk';
import { GatewayEnv } from '../gateway.config.js';
import { EnvironmentState, type FlagVersion } from './environment-state.js';

export const READ_AFTER_TIMEOUT = 'GATEWAY.READ_AFTER_TIMEOUT';

/**
 * The environments this gateway serves from memory, each an {@link EnvironmentState} on the gateway's NATS
 * connection. Those in ROLLGATE_GATEWAY_ENVIRONMENTS load as the gateway starts; any other loads on its first read
 * (that read waits for the snapshot). At most ROLLGATE_GATEWAY_MAX_ENVIRONMENTS are held: past it the
 * least recently read one not listed is let go, so names made up by callers cannot grow memory without bound.
 */
@Injectable()
export class EnvironmentStates implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EnvironmentStates');
  private readonly states = new Map<string, EnvironmentState>();
  private readonly pinned: ReadonlySet<string>;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly env: GatewayEnv,
  ) {
    this.pinned = new Set(env.ROLLGATE_GATEWAY_ENVIRONMENTS.split(',').map((name) => name.trim()).filter((name) => name !== ''));
  }

  /**
   * Loads the listed environments before the gateway listens, waiting at most the bus timeout: a gateway started
   * before the flags service still starts, and its first reads wait for (or fail on) the snapshot instead.
   */
  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(
      [...this.pinned].map((environment) =>
        this.ready(environment).catch((error: unknown) => this.logger.warn({ msg: 'environment not loaded at start; it loads on its first read', environment, err: error })),
      ),
    );
  }

  /** The environment's state once it holds a snapshot; GENERIC.UNAVAILABLE (503) when none comes within the bus timeout. */
  async ready(environment: string): Promise<EnvironmentState> {
    const state = this.state(environment);
    if (state.client.isReady) return state;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.env.ROLLGATE_BUS_TIMEOUT_MS)));
    const outcome = await Promise.race([state.ready.then(() => 'ready' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new UnavailableError(`no snapshot of environment ${environment} yet (is the flags service up?)`, { details: { environment } });
    return state;
  }

  /** The state if it is loaded and ready (the fast path: no promise). */
  readyNow(environment: string): EnvironmentState | undefined {
    const state = this.states.get(environment);
    if (state === undefined || !state.client.isReady) return undefined;
    state.lastUsedAt = Date.now();
    return state;
  }

  /** The environment's state once it holds these flag versions; GATEWAY.READ_AFTER_TIMEOUT (504) if it does not in time. */
  async readAfter(environment: string, versions: readonly FlagVersion[]): Promise<EnvironmentState> {
    const state = await this.ready(environment);
    if (versions.length === 0 || (await state.waitFor(versions, this.env.ROLLGATE_GATEWAY_READ_AFTER_TIMEOUT_MS))) return state;
    throw new RollgateError(READ_AFTER_TIMEOUT, `environment ${environment} did not reach ${versions.map((v) => `${v.key}@${v.version}`).join(', ')} within ${this.env.ROLLGATE_GATEWAY_READ_AFTER_TIMEOUT_MS} ms`, {
      details: { environment, versions },
    });
  }

  /**
   * After a write through this gateway: waits (bounded) until every loaded environment holds the flag's new
   * version, so that this gateway's next read shows it. Environments not loaded yet will load a snapshot that has it.
   */
  async caughtUp(version: FlagVersion): Promise<void> {
    // One still loading waits for its snapshot on its first read anyway; a write need not wait for it too.
    const waits = [...this.states.values()].filter((state) => state.client.isReady).map(async (state) => {
      if (!(await state.waitFor([version], this.env.ROLLGATE_GATEWAY_READ_AFTER_TIMEOUT_MS))) {
        this.logger.warn({ msg: 'local state did not reach a write in time', environment: state.environment, ...version });
      }
    });
    await Promise.all(waits);
  }

  /** Loaded environments (metrics, tests). */
  get loaded(): string[] {
    return [...this.states.keys()];
  }

  async onApplicationShutdown(): Promise<void> {
    const states = [...this.states.values()];
    this.states.clear();
    await Promise.all(states.map((state) => state.close()));
  }

  private state(environment: string): EnvironmentState {
    const existing = this.states.get(environment);
    if (existing !== undefined) {
      existing.lastUsedAt = Date.now();
      return existing;
    }
    this.evictIfFull();
    const client = RollgateClient.create({
      environment,
      connection: this.nc,
      clientId: `gateway:${this.env.ROLLGATE_SERVICE_NAME}:${process.pid}:${environment}`,
      requestTimeoutMs: this.env.ROLLGATE_BUS_TIMEOUT_MS,
      // Exposures still reach the flags service's analytics, as the evaluate query counted them.
      outcomes: { windowMs: 10_000 },
      // Not an SDK the rollback service should wait for: it answers reads, it deploys nothing.
      statusIntervalMs: 0,
      logger: { warn: (message, details) => this.logger.warn({ msg: message, environment, ...details }) },
    });
    const state = new EnvironmentState(client);
    this.states.set(environment, state);
    return state;
  }

  private evictIfFull(): void {
    if (this.states.size < this.env.ROLLGATE_GATEWAY_MAX_ENVIRONMENTS) return;
    const candidates = [...this.states.values()].filter((state) => !this.pinned.has(state.environment));
    const oldest = candidates.sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
    if (oldest === undefined) return;
    this.states.delete(oldest.environment);
    void oldest.close();
  }
}
