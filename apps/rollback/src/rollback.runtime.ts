import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { NatsLifecycle } from '#rollgate/messaging';
import { ExecutionRunner } from './execution/execution.runner.js';
import { PlanService } from './plan/plan.service.js';
import { RollbackEnv } from './rollback.config.js';
import { seedDefaultPlans } from './seed/default-plans.seed.js';
import { SdkStatusBoard } from './steps/sdk-status.board.js';
import { CriteriaWatcher } from './triggers/criteria.watcher.js';

/**
 * The rollback service's background parts (the kit runs the publisher): on start the SDK status board subscribes,
 * the default plan is seeded, the executor resumes every unfinished execution and the criteria watcher starts; on
 * shutdown they stop before the drain.
 */
@Injectable()
export class RollbackRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Rollback');
  private bootstrapped = false;

  constructor(
    private readonly env: RollbackEnv,
    private readonly board: SdkStatusBoard,
    private readonly plans: PlanService,
    private readonly runner: ExecutionRunner,
    private readonly watcher: CriteriaWatcher,
    private readonly nats: NatsLifecycle,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // A hybrid app runs bootstrap hooks once for the HTTP app and again when the deferred microservice initializes.
    if (this.bootstrapped) return;
    this.bootstrapped = true;
    this.nats.register(this.board);
    this.board.start();
    if (this.env.ROLLGATE_ROLLBACK_SEED) {
      const created = await seedDefaultPlans(this.plans);
      if (created.length > 0) this.logger.log(`seeded default rollback plans: ${created.join(', ')}`);
    }
    this.runner.start();
    this.watcher.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.watcher.stop();
  }
}
