import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Counter, Registry } from 'prom-client';
import { checkOutcomeBatch, queueGroup, subjects, type OutcomeBatch } from '#rollgate/contracts';
import { createCounter } from '#rollgate/platform';
import type { OutcomeRollup } from './outcome-rollup.js';

export interface OutcomeIntakeOptions {
  /** Batches waiting for the database; beyond this, new ones are dropped (and counted). */
  maxQueued: number;
  /** Batches written at once (each its own transaction). */
  concurrency: number;
  onError?: (message: string, error: unknown) => void;
}

type BatchResult = 'accepted' | 'duplicate' | 'invalid' | 'dropped' | 'failed';

/**
 * `rg.obs.>` in the queue group `flags-svc` (each batch reaches one replica): checks each batch, drops and
 * counts what is malformed, and adds the rest to the rollups through a bounded queue, so a burst of telemetry
 * costs bounded memory and a fixed number of connections, never the command path's.
 */
export class OutcomeIntake {
  private subscription: Subscription | null = null;
  private readonly queue: OutcomeBatch[] = [];
  private active = 0;
  private idle: Array<() => void> = [];
  private readonly batches: Counter<'result'>;
  private readonly evaluations: Counter<'environment'>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly rollup: OutcomeRollup,
    registry: Registry,
    private readonly options: OutcomeIntakeOptions,
  ) {
    this.batches = createCounter(registry, {
      name: 'rollgate_flags_outcome_batches_total',
      help: 'Outcome batches received on rg.obs.>, by result: accepted, duplicate (already counted), invalid, dropped (queue full), failed (database)',
      labelNames: ['result'],
    });
    this.evaluations = createCounter(registry, {
      name: 'rollgate_flags_sdk_evaluations_total',
      help: 'Flag evaluations SDK clients reported (exposures of counted outcome batches), by environment',
      labelNames: ['environment'],
    });
  }

  start(): void {
    if (this.subscription !== null) return;
    this.subscription = this.nc.subscribe(subjects.allOutcomes, {
      queue: queueGroup('flags'),
      callback: (error, msg) => {
        if (error === null) this.receive(msg);
      },
    });
  }

  /** Stops taking batches and waits for the queued ones to be written. */
  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    if (subscription !== null && !subscription.isClosed()) subscription.unsubscribe();
    if (this.active > 0 || this.queue.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  get queued(): number {
    return this.queue.length;
  }

  private receive(msg: Msg): void {
    // rg.obs.<environment>.<flagKey>: exactly four tokens.
    const tokens = msg.subject.split('.');
    let raw: unknown;
    try {
      raw = msg.json();
    } catch {
      this.count('invalid');
      return;
    }
    const check = tokens.length === 4 ? checkOutcomeBatch(tokens[2]!, tokens[3]!, raw) : { ok: false as const, problem: 'subject' };
    if (!check.ok) {
      this.count('invalid');
      return;
    }
    if (this.queue.length >= this.options.maxQueued) {
      this.count('dropped');
      return;
    }
    this.queue.push(check.batch);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.active++;
      void this.rollup
        .add(batch)
        .then((result) => {
          this.count(result);
          if (result === 'accepted') this.countEvaluations(batch);
        })
        .catch((error: unknown) => {
          this.count('failed');
          this.options.onError?.('outcome batch not recorded', error);
        })
        .finally(() => {
          this.active--;
          this.pump();
          if (this.active === 0 && this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }

  private countEvaluations(batch: OutcomeBatch): void {
    const exposures = batch.cohorts.reduce((sum, cohort) => sum + cohort.exposures, 0);
    if (exposures > 0) this.evaluations.inc({ environment: batch.environment }, exposures);
  }

  private count(result: BatchResult): void {
    this.batches.inc({ result });
  }
}
