import { Logger } from '@nestjs/common';
import { FLAG_ERROR_CODES, type CanaryEvent, type CanaryState, type FlagChange } from '#rollgate/contracts';
import type { CommandOrigin } from '#rollgate/commands';
import { RollgateError } from '#rollgate/platform';
import type { Clock } from '#rollgate/service-runtime';
import { isTransient } from '../bus/bus-request.js';
import type { FlagsPort } from '../bus/flags.port.js';
import type { RollbackPort } from '../bus/rollback.port.js';
import { SYSTEM_ACTOR } from './canary.decider.js';
import type { CanaryMetrics } from './canary.metrics.js';
import type { CanaryRecorder } from './canary.recorder.js';
import { nextAction, type CanaryAction, type FlagOperation } from './canary-steps.js';

export interface CanaryReactorOptions {
  graceMs: number;
  clock: Clock;
}

/** Runs one task per key at a time, in arrival order (a promise chain per key). */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

const MAX_ACTIONS = 6;
const MAX_BACKOFF_MS = 60_000;

/** The flags audit names the canary and why: who reads a flag's history sees each change's cause. */
function reasonOf(state: CanaryState, action: Extract<CanaryAction, { kind: 'apply' }>): string {
  const name = `canary ${state.id} (${state.name})`;
  if (action.step === 'promote') return `${name}: promoted${state.promotion?.override ? ' by override' : ''}`;
  if (action.step === 'restore') {
    const cause = state.rollback?.cause ?? 'manual';
    const why = state.regression
      ? `: regression on ${state.regression.metric}, decision ${state.regression.decisionId}`
      : '';
    return `${name}: rolled back (${cause})${why}; restored to flag version ${state.prior?.flagVersion}`;
  }
  const stage = state.stages[action.stage];
  const share = stage?.percentage === undefined ? state.strategy : `${stage.percentage}%`;
  return `${name}: stage ${action.stage + 1} of ${state.stages.length} (${share})`;
}

/**
 * Carries out what a canary's state asks for (canary-steps `nextAction`): the flags commands of a step, then the
 * step recorded in the canary's stream; the rollback service's trigger, then its answer. One canary at a time per
 * process, so a stage change and a rollback never interleave. A crash between a flag change and its record leaves
 * the step unrecorded: the next drive sends the same commands with the same ids, the flags service answers them
 * as duplicates, and the step is recorded once.
 */
export class CanaryReactor {
  private readonly logger = new Logger('CanaryReactor');
  private readonly locks = new KeyedLock();
  private readonly backoff = new Map<string, { failures: number; until: number }>();

  constructor(
    private readonly recorder: CanaryRecorder,
    private readonly flags: FlagsPort,
    private readonly rollback: RollbackPort,
    private readonly metrics: CanaryMetrics,
    private readonly options: CanaryReactorOptions,
  ) {}

  /** What the state asks for now, if the last failure's backoff has passed. */
  due(state: CanaryState): boolean {
    const action = nextAction(state, this.options.clock().getTime(), this.options.graceMs);
    if (action.kind === 'none' || (action.kind === 'wait' && action.until > this.options.clock().getTime()))
      return false;
    return (this.backoff.get(state.id)?.until ?? 0) <= this.options.clock().getTime();
  }

  /** Drives a canary until it waits for time, the bus or nothing; returns its state (fresh from the stream). */
  drive(id: string): Promise<CanaryState> {
    return this.locks.run(id, async () => {
      let state = await this.recorder.load(id);
      for (let i = 0; i < MAX_ACTIONS; i++) {
        const action = nextAction(state, this.options.clock().getTime(), this.options.graceMs);
        if (action.kind === 'none' || action.kind === 'wait') break;
        const next = await this.act(state, action);
        if (next === undefined) break;
        state = next;
      }
      return state;
    });
  }

  private async act(
    state: CanaryState,
    action: Exclude<CanaryAction, { kind: 'none' | 'wait' }>,
  ): Promise<CanaryState | undefined> {
    const origin = (commandId: string, reason: string): CommandOrigin => ({
      commandId,
      actor: SYSTEM_ACTOR,
      reason,
      correlationId: `canary-${state.id}`,
    });
    if (action.kind === 'trigger') {
      try {
        const reply = await this.rollback.trigger(
          action.request,
          origin(`canary:${state.id}:trigger`, `canary ${state.id}: regression decision ${action.request.decisionId}`),
        );
        this.succeeded(state.id);
        return this.recorded(state, await this.recorder.record(state.id, { type: 'RecordTrigger', data: reply }));
      } catch (error) {
        // No rollback service (or a refusal): the canary restores its flag itself, now.
        const body =
          error instanceof RollgateError ? error.toJSON() : { code: 'GENERIC.INTERNAL', message: String(error) };
        this.logger.warn({
          msg: `rollback trigger of canary ${state.id} failed; restoring the flag itself`,
          code: body.code,
        });
        return this.recorded(
          state,
          await this.recorder.record(state.id, {
            type: 'RecordTrigger',
            data: { error: { code: body.code, message: body.message } },
          }),
        );
      }
    }
    let changes: FlagChange[];
    try {
      changes = await this.apply(action.operations, (op) => origin(op.commandId, reasonOf(state, action)));
    } catch (error) {
      const code = error instanceof RollgateError ? error.code : undefined;
      if (action.step === 'stage-0' && code === FLAG_ERROR_CODES.versionConflict) {
        // The flag moved after its prior state was read: nothing of the canary's was applied; it ends cancelled.
        this.logger.warn({ msg: `canary ${state.id}: flag ${state.flagKey} changed while starting; cancelled` });
        const body = (error as RollgateError).toJSON();
        return this.recorded(
          state,
          await this.recorder.record(state.id, {
            type: 'RecordStartFailure',
            data: { error: { code: body.code, message: body.message } },
          }),
        );
      }
      this.failed(state.id);
      this.metrics.stepFailures.inc({ step: action.step.startsWith('stage-') ? 'stage' : action.step });
      const log = isTransient(error) ? 'warn' : 'error';
      this.logger[log]({
        msg: `canary ${state.id}: ${action.step} not applied (retried at the next look)`,
        err: error,
      });
      return undefined;
    }
    this.succeeded(state.id);
    const flagVersion = Math.max(...changes.map((c) => c.version), state.lastFlagVersion ?? 0);
    return this.recorded(
      state,
      await this.recorder.record(state.id, { type: 'RecordStep', data: { step: action.step, flagVersion, changes } }),
    );
  }

  /** The step's flags commands, in order (each environment's change, then the next). */
  private async apply(
    operations: readonly FlagOperation[],
    originOf: (op: FlagOperation) => CommandOrigin,
  ): Promise<FlagChange[]> {
    const changes: FlagChange[] = [];
    for (const op of operations) {
      const reply = await this.flags.command(op.verb, op.payload, originOf(op));
      changes.push({
        environment: op.environment,
        verb: op.verb,
        commandId: op.commandId,
        version: reply.version,
        appended: reply.appended ?? 0,
        duplicate: reply.duplicate,
      });
    }
    return changes;
  }

  private recorded(before: CanaryState, after: CanaryState | null): CanaryState | undefined {
    if (after === null) return undefined;
    if (after.status !== before.status) this.count(after);
    return after;
  }

  private count(state: CanaryState): void {
    const decision = ({ promoted: 'promoted', rolled_back: 'rolled_back', cancelled: 'cancelled' } as const)[
      state.status as 'promoted'
    ];
    if (decision !== undefined) this.metrics.decisions.inc({ decision });
    this.metrics.state(state);
  }

  private failed(id: string): void {
    const failures = (this.backoff.get(id)?.failures ?? 0) + 1;
    this.backoff.set(id, {
      failures,
      until: this.options.clock().getTime() + Math.min(MAX_BACKOFF_MS, 250 * 2 ** failures),
    });
  }

  private succeeded(id: string): void {
    this.backoff.delete(id);
  }
}

/** Which decision an event is, for rollgate_canary_decisions_total. */
export const decisionOf = (event: CanaryEvent): 'regression' | 'certified' | 'advanced' | 'inconclusive' | undefined =>
  ({
    CanaryRegressionDetected: 'regression',
    CanaryCertifiedSafe: 'certified',
    CanaryStageAdvanced: 'advanced',
    CanaryInconclusive: 'inconclusive',
  })[event.type as 'CanaryRegressionDetected'] as 'regression' | 'certified' | 'advanced' | 'inconclusive' | undefined;
