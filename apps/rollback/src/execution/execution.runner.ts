import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { Registry, type Counter, type Histogram } from 'prom-client';
import { CommandHandler } from '#rollgate/commands';
import { TERMINAL_STATUSES, TRAFFIC_STEPS, type Execution, type StepRun } from '#rollgate/contracts';
import { PgLeaderElection, type LeaderLease } from '#rollgate/event-store';
import { createCounter, createGauge, createHistogram, WakeableLoop } from '#rollgate/platform';
import { CLOCK, type Clock } from '#rollgate/service-runtime';
import { RollbackQueries } from '../read-model/rollback.query.js';
import { executionAggregate } from '../rollback.aggregates.js';
import { RollbackEnv } from '../rollback.config.js';
import { RollbackErrorCodes } from '../rollback.errors.js';
import { checkConsistency } from '../steps/consistency.check.js';
import { FlagsPort } from '../steps/flags.port.js';
import { SdkStatusBoard } from '../steps/sdk-status.board.js';
import { planOperations } from '../steps/step-planning.js';
import { StepPerformer } from '../steps/step.performer.js';
import { isTransient, StepFailure } from '../steps/step.failure.js';
import type { Operation } from '../steps/step-operations.js';
import type { ExecutionCommand } from './execution.decider.js';
import { MAX_INTERRUPTED_ATTEMPTS, maxAttemptsOf, nextAction, retryDelayMs } from './execution.planner.js';
import { recordExecution } from './execution.service.js';
import type { ExecutionWaker } from './execution.tokens.js';

const LEADER_LOCK = 'rollback-executor';
const PLANNING_RETRIES = 20;

interface Task {
  done: Promise<void>;
  abort: AbortController;
}

class Stopped extends Error {}

/**
 * The saga executor. One process at a time runs executions (leader by advisory lock); it loops over the unfinished
 * ones (`running`, and `scheduled` whose time came: the durable timer is the row's `scheduled_for`), and drives each
 * by asking `nextAction` of its folded state, doing that, and recording it. Every side effect is recorded as an
 * attempt before it happens and carries the step's idempotency key, so after a crash at any point the executor
 * resumes from the log and repeats nothing that took effect.
 */
@Injectable()
export class ExecutionRunner implements ExecutionWaker, BeforeApplicationShutdown {
  private readonly logger = new Logger('Executor');
  private readonly tasks = new Map<string, Task>();
  private readonly loop: WakeableLoop;
  private readonly election: PgLeaderElection;
  private lease: LeaderLease | null = null;
  private stopping = false;
  private readonly finished: Counter<'type' | 'scope' | 'cause' | 'outcome'>;
  private readonly stepDuration: Histogram<'step' | 'outcome'>;
  private readonly recovery: Histogram<'type'>;

  constructor(
    private readonly env: RollbackEnv,
    private readonly commands: CommandHandler,
    private readonly queries: RollbackQueries,
    private readonly performer: StepPerformer,
    private readonly flags: FlagsPort,
    private readonly board: SdkStatusBoard,
    @Inject(CLOCK) private readonly clock: Clock,
    registry: Registry,
  ) {
    this.election = new PgLeaderElection(env.DATABASE_URL);
    this.loop = new WakeableLoop(() => this.tick(), {
      onError: (error) => this.logger.error({ msg: 'executor tick failed', err: error }),
      errorDelayMs: 1_000,
    });
    this.finished = createCounter(registry, {
      name: 'rollgate_rollback_executions_total',
      help: 'Finished rollback executions by type, scope, cause and outcome',
      labelNames: ['type', 'scope', 'cause', 'outcome'],
    });
    this.stepDuration = createHistogram(registry, {
      name: 'rollgate_rollback_step_duration_seconds',
      help: 'Duration of rollback steps from start to result, by step kind and outcome',
      labelNames: ['step', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    this.recovery = createHistogram(registry, {
      name: 'rollgate_rollback_recovery_seconds',
      help: 'Rollback trigger until every SDK client applied the change (or the last flag step, without clients)',
      labelNames: ['type'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    const tasks = this.tasks;
    createGauge(registry, {
      name: 'rollgate_rollback_executions_running',
      help: 'Executions this process is driving now',
      collect() {
        this.set(tasks.size);
      },
    });
  }

  get isLeader(): boolean {
    return this.lease !== null;
  }

  start(): void {
    this.loop.start();
  }

  wake(executionId?: string, recorded?: Execution): void {
    if (executionId !== undefined && this.lease !== null && !this.tasks.has(executionId) && this.tasks.size < this.env.ROLLGATE_ROLLBACK_CONCURRENCY) {
      this.spawn(executionId, recorded);
    }
    this.loop.wake();
  }

  interrupt(executionId: string): void {
    this.tasks.get(executionId)?.abort.abort('preempted');
  }

  /** Resolves when the execution has no task in this process (tests, and an emergency waiting on its victim). */
  async idle(executionId: string): Promise<void> {
    await this.tasks.get(executionId)?.done;
  }

  private async tick(): Promise<number> {
    if (this.stopping) return this.env.ROLLGATE_ROLLBACK_POLL_MS;
    if (this.lease === null) {
      const lease = await this.election.tryAcquire(LEADER_LOCK);
      if (lease === null) return this.env.ROLLGATE_ROLLBACK_POLL_MS * 4;
      this.lease = lease;
      void lease.lost.then(() => {
        if (this.lease !== lease) return;
        this.lease = null;
        for (const task of this.tasks.values()) task.abort.abort('leadership lost');
      });
      this.logger.log('executor leadership acquired: resuming unfinished executions');
    }
    const now = this.clock();
    for (const work of await this.queries.unfinished(now)) {
      if (this.tasks.size >= this.env.ROLLGATE_ROLLBACK_CONCURRENCY) break;
      if (!this.tasks.has(work.id)) this.spawn(work.id);
    }
    const next = await this.queries.nextDue();
    const untilNext = next === null ? Infinity : next.getTime() - this.clock().getTime();
    return Math.max(1, Math.min(this.env.ROLLGATE_ROLLBACK_POLL_MS, untilNext));
  }

  private spawn(id: string, recorded?: Execution): void {
    const abort = new AbortController();
    const done = this.drive(id, abort.signal, recorded)
      .catch((error: unknown) => {
        if (!(error instanceof Stopped)) this.logger.error({ msg: `execution ${id} paused after an error (resumed at the next poll)`, err: error });
      })
      .finally(() => {
        this.tasks.delete(id);
        if (!this.stopping) this.loop.wake();
      });
    this.tasks.set(id, { done, abort });
  }

  private origin(execution: Execution, commandId: string) {
    return { commandId, actor: execution.cause.actor, ...(execution.cause.reason === undefined ? {} : { reason: execution.cause.reason }), correlationId: execution.id };
  }

  private async record(execution: Execution, command: ExecutionCommand, commandId: string): Promise<void> {
    await recordExecution(this.commands, this.clock, execution.id, command, this.origin(execution, commandId));
  }

  private async sleep(ms: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }

  /** `recorded`: the state the request appended with the first step's attempt 1 in flight, performed at once. */
  private async drive(id: string, signal: AbortSignal, recorded?: Execution): Promise<void> {
    let waitedForPreempted = false;
    let planningFailures = 0;
    const first = recorded?.steps[0];
    if (recorded !== undefined && first !== undefined && first.status === 'running' && first.attempts === 1 && first.attemptInFlight === 1) {
      if (this.stopping || signal.aborted) throw new Stopped();
      await this.performAttempt(recorded, first, 1, signal);
    }
    for (;;) {
      if (this.stopping || (signal.aborted && signal.reason !== 'preempted')) throw new Stopped();
      const { state } = await this.commands.loadLatest(executionAggregate, id);
      const now = this.clock();
      const action = nextAction(state, now.getTime());
      if (state === null || action.kind === 'none') return;
      switch (action.kind) {
        case 'wait-until': {
          const ms = action.at - now.getTime();
          // A far timer is the database's to keep (the poll finds it when due); a near one is slept here.
          if (ms > this.env.ROLLGATE_ROLLBACK_POLL_MS * 4) return;
          await this.sleep(ms, signal);
          break;
        }
        case 'fire':
          await recordExecution(this.commands, this.clock, id, { type: 'FireScheduled', data: { holder: await this.queries.holder(state.scope, state.targetId) } }, {
            ...this.origin(state, `${id}:fire`),
            actor: 'system:scheduler',
            reason: `scheduled for ${state.scheduledFor}`,
          });
          break;
        case 'start-step': {
          if (state.preempts !== undefined && !waitedForPreempted) {
            await this.waitForPreempted(state.preempts);
            waitedForPreempted = true;
          }
          if (await this.lostTarget(state)) break;
          const step = state.steps[action.index]!;
          const at = this.clock().toISOString();
          let operations: Operation[];
          try {
            operations = planOperations(step, state, await this.performer.gatherFacts(step, at));
          } catch (error) {
            const failure = StepFailure.of(error, isTransient);
            if (failure.retryable && ++planningFailures < PLANNING_RETRIES) {
              await this.sleep(retryDelayMs(Math.min(planningFailures, 5)), signal);
              break;
            }
            await this.record(state, { type: 'StartStep', data: { index: step.index, operations: [] } }, `${id}:${step.index}:start`);
            await this.record(state, { type: 'FailStep', data: { index: step.index, error: failure.error } }, `${id}:${step.index}:fail`);
            this.observeStep(step, 'failed', 0);
            break;
          }
          planningFailures = 0;
          await this.record(state, { type: 'StartStep', data: { index: step.index, operations } }, `${id}:${step.index}:start`);
          break;
        }
        case 'attempt':
          await this.attempt(state, state.steps[action.index]!, action.attempt, signal);
          break;
        case 'exhausted': {
          const step = state.steps[action.index]!;
          await this.record(
            state,
            {
              type: 'FailStep',
              data: {
                index: step.index,
                error: {
                  code: RollbackErrorCodes.attemptsExhausted,
                  message: `step ${step.index} used its attempts: ${step.attemptErrors.length} failed (of ${maxAttemptsOf(step)}), ${step.attempts - step.attemptErrors.length} cut short by restarts (of ${MAX_INTERRUPTED_ATTEMPTS})`,
                  details: { lastErrors: step.attemptErrors.slice(-3) },
                },
              },
            },
            `${id}:${step.index}:fail`,
          );
          this.observeStep(step, 'failed', Date.now() - Date.parse(step.startedAt ?? now.toISOString()));
          break;
        }
        case 'compensate': {
          const step = state.steps[action.index]!;
          let data: { index: number; result?: unknown; error?: { code: string; message: string } };
          try {
            data = { index: step.index, result: await this.performer.compensate(state, step) };
          } catch (error) {
            data = { index: step.index, error: StepFailure.of(error, isTransient).error };
          }
          await this.record(state, { type: 'CompensateStep', data }, `${id}:${step.index}:compensate`);
          break;
        }
        case 'check-consistency': {
          let report;
          try {
            report = await checkConsistency(state, this.flags, this.board, this.env.ROLLGATE_ROLLBACK_CONSISTENCY_WAIT_MS);
          } catch (error) {
            const failure = StepFailure.of(error, isTransient);
            report = { verified: false, flags: 0, clients: 0, differences: [{ expected: 'a consistency check', actual: failure.error }] };
          }
          await this.record(state, { type: 'RecordConsistency', data: report }, `${id}:consistency`);
          break;
        }
        case 'finish': {
          const recoveryMs = recoveryOf(state);
          await this.record(state, { type: 'FinishExecution', data: recoveryMs === undefined ? {} : { recoveryMs } }, `${id}:finish`);
          const { state: final } = await this.commands.loadLatest(executionAggregate, id);
          if (final !== null && TERMINAL_STATUSES.has(final.status)) {
            this.finished.inc({ type: final.type, scope: final.scope, cause: final.cause.kind, outcome: final.status });
            if (final.recoveryMs !== undefined) this.recovery.observe({ type: final.type }, final.recoveryMs / 1_000);
          }
          return;
        }
        default: {
          const unknown: never = action;
          throw new Error(`unknown action ${JSON.stringify(unknown)}`);
        }
      }
    }
  }

  /** One attempt: recorded first, then the side effect, then its outcome. */
  private async attempt(state: Execution, step: StepRun, attempt: number, signal: AbortSignal): Promise<void> {
    const id = state.id;
    await this.record(state, { type: 'RecordAttempt', data: { index: step.index, attempt } }, `${id}:${step.index}:attempt:${attempt}`);
    await this.performAttempt(state, step, attempt, signal);
  }

  /** The side effect of an attempt already recorded, then its outcome. */
  private async performAttempt(state: Execution, step: StepRun, attempt: number, signal: AbortSignal): Promise<void> {
    const id = state.id;
    const started = Date.now();
    try {
      const result = await this.performer.perform(state, step, (step.operations ?? []) as Operation[], signal);
      const durationMs = Date.now() - Date.parse(step.startedAt ?? new Date(started).toISOString());
      await this.record(state, { type: 'CompleteStep', data: { index: step.index, attempt, durationMs, result: result ?? null } }, `${id}:${step.index}:done`);
      this.observeStep(step, 'succeeded', durationMs);
    } catch (error) {
      const failure = StepFailure.of(error, isTransient);
      if (signal.aborted && signal.reason !== 'preempted') throw new Stopped();
      if (signal.aborted) {
        await this.record(state, { type: 'FailStep', data: { index: step.index, error: failure.error } }, `${id}:${step.index}:fail`);
        return;
      }
      if (failure.retryable && step.attemptErrors.length + 1 < maxAttemptsOf(step)) {
        const retryAt = new Date(this.clock().getTime() + retryDelayMs(step.attemptErrors.length + 1)).toISOString();
        await this.record(state, { type: 'FailAttempt', data: { index: step.index, attempt, error: failure.error, retryAt } }, `${id}:${step.index}:attempt:${attempt}:failed`);
      } else {
        await this.record(state, { type: 'FailStep', data: { index: step.index, error: failure.error } }, `${id}:${step.index}:fail`);
        this.observeStep(step, 'failed', Date.now() - started);
      }
    }
  }

  private observeStep(step: StepRun, outcome: string, durationMs: number): void {
    this.stepDuration.observe({ step: step.type, outcome }, Math.max(0, durationMs) / 1_000);
  }

  /** At a step boundary: another execution took the target (an emergency), so this one ends here. */
  private async lostTarget(state: Execution): Promise<boolean> {
    const holder = await this.queries.holder(state.scope, state.targetId);
    if (holder === null || holder.executionId === state.id) return false;
    await this.record(state, { type: 'PreemptExecution', data: { by: holder.executionId } }, `preempt:${state.id}:${holder.executionId}`);
    return true;
  }

  /** An emergency lets the execution it preempted finish the step in flight (bounded), so their flag changes never interleave. */
  private async waitForPreempted(victim: string): Promise<void> {
    const deadline = Date.now() + this.env.ROLLGATE_ROLLBACK_PREEMPT_WAIT_MS;
    this.interrupt(victim);
    for (;;) {
      const running = (await this.queries.execution(victim).catch(() => null))?.steps.some((step) => step.status === 'running' && step.attemptInFlight > 0);
      if (!running && !this.tasks.has(victim)) return;
      if (Date.now() >= deadline) {
        this.logger.warn(`preempted execution ${victim} still has a step in flight after ${this.env.ROLLGATE_ROLLBACK_PREEMPT_WAIT_MS} ms; going on`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.loop.stop();
    for (const task of this.tasks.values()) task.abort.abort('shutdown');
    await Promise.race([Promise.allSettled([...this.tasks.values()].map((task) => task.done)), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    await this.lease?.release();
    this.lease = null;
  }
}

/**
 * Trigger (the start) to the change being in effect: the first SDK confirmation after the last traffic step (a
 * propagation wait's, or the consistency check's), else the last traffic step's result; none without traffic steps.
 */
export function recoveryOf(state: Execution): number | undefined {
  const start = Date.parse(state.startedAt ?? state.requestedAt);
  const traffic = state.steps.filter((step) => TRAFFIC_STEPS.has(step.type) && step.status === 'succeeded' && step.finishedAt !== undefined);
  if (traffic.length === 0) return undefined;
  const lastTraffic = Math.max(...traffic.map((step) => Date.parse(step.finishedAt!)));
  const confirmations = [
    ...state.steps
      .filter((step) => step.type === 'wait_for_propagation' && step.status === 'succeeded')
      .map((step) => (step.result as { confirmedAt?: string | null } | undefined)?.confirmedAt ?? null),
    state.consistency?.sdkConfirmedAt ?? null,
  ].flatMap((at) => (at === null ? [] : [Date.parse(at)]));
  const end = confirmations.length > 0 ? Math.min(...confirmations) : lastTraffic;
  return Math.max(0, Math.round(end - start));
}
