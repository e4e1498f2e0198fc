import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { NatsLifecycle } from '#rollgate/messaging';
import { CanaryService } from './canary/canary.service.js';
import { CanaryMonitor } from './monitor/canary-monitor.js';

/**
 * The canary service's background part: on start the monitor loads every active canary from the read model (a
 * restarted process goes on where the log says it was), subscribes to the outcome batches and looks; on shutdown
 * it stops before the NATS drain.
 */
@Injectable()
export class CanaryRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private bootstrapped = false;

  constructor(
    private readonly monitor: CanaryMonitor,
    private readonly canaries: CanaryService,
    private readonly nats: NatsLifecycle,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // A hybrid app runs bootstrap hooks once for the HTTP app and again when the deferred microservice initializes.
    if (this.bootstrapped) return;
    this.bootstrapped = true;
    this.canaries.trackWith(this.monitor);
    this.nats.register(this.monitor);
    await this.monitor.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.monitor.stop();
  }
}
