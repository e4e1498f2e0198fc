import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { PgLeaderElection, PostgresEventStore, ProjectionRunner } from '#rollgate/event-store';
import { EventPublisher, ensureEventStream, NATS_CONNECTION, NatsLifecycle } from '#rollgate/messaging';
import { AuditProjection } from './audit/audit.projection.js';
import { EvaluationCounter } from './evaluation/evaluation-counter.js';
import { FlagFeed } from './evaluation/flag-feed.js';
import { FlagService } from './flag/flag.service.js';
import { OutcomeIntake } from './outcomes/outcome-intake.js';
import { OutcomeRollup } from './outcomes/outcome-rollup.js';
import { PropagationMonitor } from './propagation/propagation-monitor.js';
import { FlagsEnv } from './flags.config.js';
import { seedDefaultFlags } from './seed/default-flags.seed.js';
import { EVENT_STORE, PG_POOL } from './store/store.tokens.js';

/**
 * The background parts of the service and their order: on start the evaluation feed catches up (so the first
 * evaluation is current), the default flags are seeded, then the feed, the audit projection, the counts flush and
 * the outbox publisher run, and the outcome intake and SDK status monitor subscribe. On shutdown they stop (the publisher through NatsLifecycle, before the drain) and the
 * last counts are written; the pool ends after all of that (PoolLifecycle).
 */
@Injectable()
export class FlagsRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Flags');
  readonly audit: ProjectionRunner;
  private flushTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  publisher: EventPublisher | undefined;

  constructor(
    private readonly env: FlagsEnv,
    private readonly feed: FlagFeed,
    private readonly counter: EvaluationCounter,
    private readonly flags: FlagService,
    private readonly nats: NatsLifecycle,
    @Inject(PG_POOL) pool: Pool,
    @Inject(EVENT_STORE) private readonly store: PostgresEventStore,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly outcomes: OutcomeIntake,
    private readonly rollup: OutcomeRollup,
    private readonly propagation: PropagationMonitor,
  ) {
    this.audit = new ProjectionRunner(pool, new AuditProjection(), {
      idleDelayMs: env.ROLLGATE_FLAGS_AUDIT_POLL_MS,
      onError: (error) => this.logger.error({ msg: 'audit projection failed', err: error }),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    // A hybrid app runs bootstrap hooks once for the HTTP app and again when the deferred microservice initializes.
    if (this.bootstrapped) return;
    this.bootstrapped = true;
    await this.feed.catchUp();
    this.feed.start();
    if (this.env.ROLLGATE_FLAGS_SEED) {
      const report = await seedDefaultFlags(this.flags);
      if (report.created.length > 0) this.logger.log(`seeded default flags: ${report.created.join(', ')}`);
    }
    this.audit.start();
    this.flushTimer = setInterval(() => void this.flushCounts(), this.env.ROLLGATE_FLAGS_COUNTS_FLUSH_MS);
    if (this.env.ROLLGATE_FLAGS_PUBLISHER) await this.startPublisher();
    // Stopped through NatsLifecycle before the drain; the intake writes what it queued before the pool ends.
    this.nats.register(this.outcomes);
    this.nats.register(this.propagation);
    this.outcomes.start();
    this.propagation.start();
    const retentionMs = this.env.ROLLGATE_FLAGS_OUTCOME_DEDUP_HOURS * 3_600_000;
    this.pruneTimer = setInterval(() => {
      this.rollup.prune(retentionMs).catch((error: unknown) => this.logger.error({ msg: 'outcome batch ids not pruned', err: error }));
    }, Math.min(retentionMs, 600_000));
    this.pruneTimer.unref();
  }

  private async startPublisher(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const target = { stream: this.env.ROLLGATE_FLAGS_EVENT_STREAM, subjectRoot: this.env.ROLLGATE_EVENT_SUBJECT_ROOT };
    const publisher = new EventPublisher({
      service: 'flags',
      store: this.store,
      leaderElection: new PgLeaderElection(this.env.DATABASE_URL),
      js: jetstream(this.nc),
      jsm,
      target,
      logger: {
        log: (message) => this.logger.log(message),
        warn: (message) => this.logger.warn(message),
        error: (message) => this.logger.error(message),
      },
    });
    await ensureEventStream(jsm, publisher.target);
    this.publisher = publisher;
    this.nats.register(publisher);
    publisher.start();
    // A command's events leave for JetStream right after its commit instead of at the next idle poll (50 ms).
    this.flags.onCommitted(() => publisher.wake());
  }

  async flushCounts(): Promise<void> {
    try {
      await this.counter.flush();
    } catch (error) {
      this.logger.error({ msg: 'evaluation counts flush failed (kept for the next one)', err: error });
    }
  }

  private bootstrapped = false;

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.pruneTimer);
    await Promise.allSettled([this.feed.stop(), this.audit.stop()]);
    await this.flushCounts();
  }
}
