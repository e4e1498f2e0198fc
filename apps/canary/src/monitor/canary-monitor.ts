import { Logger } from '@nestjs/common';
import type { CanaryState } from '#rollgate/contracts';
import { WakeableLoop } from '#rollgate/platform';
import type { Clock } from '#rollgate/service-runtime';
import { decideCanary } from '../canary/canary.decider.js';
import type { CanaryMetrics } from '../canary/canary.metrics.js';
import type { CanaryReactor } from '../canary/canary.reactor.js';
import { decisionOf } from '../canary/canary.reactor.js';
import type { CanaryRecorder } from '../canary/canary.recorder.js';
import type { CanaryQueries } from '../read-model/canary.query.js';
import { OutcomeIntake } from './outcome-intake.js';

export interface CanaryMonitorOptions {
  lookMs: number;
  /** CANARY_MONITORING_INTERVAL in ms: the longest a window stays open. */
  windowMs: number;
  refreshMs: number;
  clock: Clock;
}

const TERMINAL = new Set(['promoted', 'rolled_back', 'cancelled']);

/**
 * The background monitoring of the seed: every look, each active canary's gathered outcomes are judged as the
 * window they would close now (the decider is pure, so this costs no write). A window is recorded when the judge
 * would decide on it, or when it is CANARY_MONITORING_INTERVAL old; a look without outcomes still records the
 * clock's decisions (a stage's minimum duration, the deadline). Then whatever the state asks for (a flag change,
 * the rollback trigger) is driven. The working set is cached and reloaded from the read model every refresh, so a
 * restarted process picks up every canary it left and goes on (crash safety is the log's: steps and decisions are
 * recorded, never remembered).
 */
export class CanaryMonitor {
  private readonly logger = new Logger('CanaryMonitor');
  private readonly working = new Map<string, CanaryState>();
  private readonly byFlag = new Map<string, CanaryState[]>();
  private readonly loop: WakeableLoop;
  private lastRefresh = 0;
  readonly intake: OutcomeIntake;

  constructor(
    intake: (watching: (flagKey: string) => readonly CanaryState[]) => OutcomeIntake,
    private readonly recorder: CanaryRecorder,
    private readonly reactor: CanaryReactor,
    private readonly queries: CanaryQueries,
    private readonly metrics: CanaryMetrics,
    private readonly options: CanaryMonitorOptions,
  ) {
    this.intake = intake((flagKey) => this.byFlag.get(flagKey) ?? []);
    this.loop = new WakeableLoop(() => this.look(), {
      onError: (error) => this.logger.error({ msg: 'canary look failed', err: error }),
    });
  }

  async start(): Promise<void> {
    await this.refresh();
    this.intake.start();
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.intake.stop();
    await this.loop.stop();
  }

  /** A state the service just produced (a command's reply): watched at once, without waiting for a refresh. */
  track(state: CanaryState | null): void {
    if (state === null) return;
    this.remember(state);
    this.loop.wake();
  }

  /** Keeps the newest state of a canary in the working set (a terminal one leaves it). */
  private remember(state: CanaryState): void {
    const known = this.working.get(state.id);
    if (known !== undefined && known.version > state.version) return;
    if (TERMINAL.has(state.status)) {
      this.working.delete(state.id);
      this.intake.forget(state.id);
    } else this.working.set(state.id, state);
    this.index();
    this.metrics.state(state);
  }

  private index(): void {
    this.byFlag.clear();
    for (const state of this.working.values()) {
      const list = this.byFlag.get(state.flagKey);
      if (list) list.push(state);
      else this.byFlag.set(state.flagKey, [state]);
    }
  }

  private async refresh(): Promise<void> {
    const active = await this.queries.active();
    const ids = new Set(active.map((s) => s.id));
    for (const id of this.working.keys()) if (!ids.has(id)) this.working.delete(id);
    for (const state of active) {
      const known = this.working.get(state.id);
      if (known === undefined || known.version < state.version) this.working.set(state.id, state);
    }
    this.index();
    this.lastRefresh = this.options.clock().getTime();
  }

  /** One look at every active canary; returns the pause until the next. */
  async look(): Promise<number> {
    if (this.options.clock().getTime() - this.lastRefresh >= this.options.refreshMs) await this.refresh();
    for (const state of [...this.working.values()]) {
      try {
        await this.lookAt(state);
      } catch (error) {
        this.logger.error({ msg: `canary ${state.id}: look failed`, err: error });
      }
    }
    return this.options.lookMs;
  }

  private async lookAt(cached: CanaryState): Promise<void> {
    const now = this.options.clock();
    let state = cached;
    if (state.hold !== undefined) {
      // Paused by an operator: what its users see meanwhile is dropped, not judged later (docs/canary.md).
      this.intake.forget(state.id);
      if (this.reactor.due(state)) state = await this.reactor.drive(state.id);
      this.remember(state);
      return;
    }
    const window = this.intake.peek(state);
    const preview = decideCanary({ type: 'Observe', data: window === undefined ? {} : { window } }, state, now);
    const decides = preview.some((event) => event.type !== 'CanaryWindowRecorded');
    const full = window !== undefined && this.intake.age(state.id) >= this.options.windowMs;
    if (decides || full) {
      const taken = this.intake.take(state);
      try {
        const next = await this.recorder.record(state.id, {
          type: 'Observe',
          data: taken === undefined ? {} : { window: taken },
        });
        if (next !== null) {
          if (taken !== undefined && next.totals.windows > state.totals.windows) this.metrics.window(next, taken);
          for (const event of preview) {
            const decision = decisionOf(event);
            if (decision !== undefined) this.metrics.decisions.inc({ decision });
          }
          state = next;
        }
      } catch (error) {
        if (taken !== undefined) this.intake.putBack(state, taken);
        throw error;
      }
    }
    if (this.reactor.due(state)) state = await this.reactor.drive(state.id);
    // Not track(): a wake from inside the loop would end its own sleep, and the loop would spin.
    this.remember(state);
  }
}
