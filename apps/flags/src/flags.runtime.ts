import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { ProjectionRunner } from '#rollgate/event-store';
import { NatsLifecycle } from '#rollgate/messaging';
import { ServiceRuntime } from '#rollgate/service-runtime';
import { AuditProjection } from './audit/audit.projection.js';
import { EvaluationCounter } from './evaluation/evaluation-counter.js';
import { FlagFeed } from './evaluation/flag-feed.js';
import { FlagService } from './flag/flag.service.js';
import { OutcomeIntake } from './outcomes/outcome-intake.js';
import { OutcomeRollup } from './outcomes/outcome-rollup.js';
import { PropagationMonitor } from './propagation/propagation-monitor.js';
import { FlagsEnv } from './flags.config.js';
import { seedDefaultFlags } from './seed/default-flags.seed.js';

/**
 * The flags service's own background parts (the kit runs the publisher and the audit projection): on start the
 * evaluation feed catches up (so the first evaluation is current), the default flags are seeded, the counts flush
 * runs, and the outcome intake and SDK status monitor subscribe. On shutdown they stop (the intake and monitor
 * through NatsLifecycle, before the drain) and the last counts are written before the pool ends.
 */
@Injectable()
export class FlagsRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Flags');
  private flushTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private bootstrapped = false;

  constructor(
    private readonly env: FlagsEnv,
    private readonly feed: FlagFeed,
    private readonly counter: EvaluationCounter,
    private readonly flags: FlagService,
    private readonly nats: NatsLifecycle,
    private readonly kit: ServiceRuntime,
    private readonly outcomes: OutcomeIntake,
    private readonly rollup: OutcomeRollup,
    private readonly propagation: PropagationMonitor,
  ) {}

  /** The audit trail's projection runner. */
  get audit(): ProjectionRunner {
    return this.kit.runner(new AuditProjection().name);
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
    this.flushTimer = setInterval(() => void this.flushCounts(), this.env.ROLLGATE_FLAGS_COUNTS_FLUSH_MS);
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

  async flushCounts(): Promise<void> {
    try {
      await this.counter.flush();
    } catch (error) {
      this.logger.error({ msg: 'evaluation counts flush failed (kept for the next one)', err: error });
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.pruneTimer);
    await this.feed.stop();
    await this.flushCounts();
  }
}
