import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  checkOutcomeBatch,
  queueGroup,
  subjects,
  type CanaryState,
  type CanaryWindow,
  type CohortCounts,
  type JudgeIncrements,
  type OutcomeBatch,
  type OutcomeCohort,
} from '#rollgate/contracts';
import {
  addCounts,
  addIncrements,
  batchIncrements,
  countsOf,
  emptyCounts,
  emptyIncrements,
} from '../judge/canary-judge.js';
import type { CanaryMetrics } from '../canary/canary.metrics.js';

/** Outcomes gathered for one canary since its last recorded window. */
interface Pending {
  start: number;
  canary: CohortCounts;
  baseline: CohortCounts;
  increments: JudgeIncrements;
}

/** Batch ids remembered to drop a batch delivered twice (core NATS is at most once; a republish is not). */
const SEEN_LIMIT = 50_000;

/**
 * `rg.obs.>` in the queue group `canary-svc` (each batch reaches one canary replica, apart from the flags
 * service's own share): each batch of a flag with an active canary is checked, its cohorts picked (the canary
 * variant in the canary environments, the baseline variant in the baseline ones) and judged at once: a batch is
 * one client's window, so its own traffic share gives the null of its split (research §3.1 step 2). An
 * environment canary's cohorts arrive in different environments' batches, so its window is judged as a whole.
 * Batches of flags without an active canary cost a subject check.
 */
export class OutcomeIntake {
  private subscription: Subscription | null = null;
  private readonly pending = new Map<string, Pending>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly metrics: CanaryMetrics,
    /** The active canaries on a flag (the monitor's working set). */
    private readonly watching: (flagKey: string) => readonly CanaryState[],
    private readonly now: () => number,
  ) {}

  start(): void {
    if (this.subscription !== null) return;
    this.subscription = this.nc.subscribe(subjects.allOutcomes, {
      queue: queueGroup('canary'),
      callback: (error, msg) => {
        if (error === null) this.receive(msg);
      },
    });
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    if (subscription !== null && !subscription.isClosed()) subscription.unsubscribe();
  }

  /** Outcomes gathered for a canary so far, as the window they would close now (nothing taken). */
  peek(state: CanaryState): CanaryWindow | undefined {
    const pending = this.pending.get(state.id);
    return pending === undefined ? undefined : this.windowOf(state, pending);
  }

  /** Takes the gathered outcomes as a window; the next window starts empty. */
  take(state: CanaryState): CanaryWindow | undefined {
    const window = this.peek(state);
    this.pending.delete(state.id);
    return window;
  }

  /** A window that could not be recorded goes back in front of what arrived since. */
  putBack(state: CanaryState, window: CanaryWindow): void {
    const pending = this.pendingOf(state);
    pending.start = Math.min(pending.start, Date.parse(window.start));
    addCounts(pending.canary, window.canary);
    addCounts(pending.baseline, window.baseline);
    if (state.strategy !== 'environment') addIncrements(pending.increments, window.increments);
  }

  /** How long the canary's gathered outcomes have waited (ms), 0 without any. */
  age(id: string): number {
    const pending = this.pending.get(id);
    return pending === undefined ? 0 : this.now() - pending.start;
  }

  forget(id: string): void {
    this.pending.delete(id);
  }

  /** One batch, as the subscription delivers it; public for tests that feed batches without a bus. */
  receive(msg: Pick<Msg, 'subject' | 'json'>): void {
    const tokens = msg.subject.split('.');
    if (tokens.length !== 4) return this.metrics.batches.inc({ result: 'invalid' });
    const canaries = this.watching(tokens[3]!);
    if (canaries.length === 0) return this.metrics.batches.inc({ result: 'ignored' });
    let raw: unknown;
    try {
      raw = msg.json();
    } catch {
      return this.metrics.batches.inc({ result: 'invalid' });
    }
    const check = checkOutcomeBatch(tokens[2]!, tokens[3]!, raw);
    if (!check.ok) return this.metrics.batches.inc({ result: 'invalid' });
    if (this.seen.has(check.batch.batchId)) return this.metrics.batches.inc({ result: 'duplicate' });
    this.remember(check.batch.batchId);
    let used = false;
    for (const state of canaries) used = this.add(state, check.batch) || used;
    this.metrics.batches.inc({ result: used ? 'accepted' : 'ignored' });
  }

  private add(state: CanaryState, batch: OutcomeBatch): boolean {
    // Outcomes from before the canary's first flag change describe the flag as it was.
    if (
      state.stageStartedAt === undefined ||
      Date.parse(batch.windowStart) + batch.windowMs < Date.parse(state.startedAt ?? state.stageStartedAt)
    )
      return false;
    const { canaryVariant, baselineVariant, canaryEnvironments, baselineEnvironments } = state.cohorts;
    const pick = (variant: string, environments: string[] | '*'): OutcomeCohort | undefined =>
      environments === '*' || environments.includes(batch.environment)
        ? batch.cohorts.find((c) => c.variant === variant)
        : undefined;
    const canaryCohort = pick(canaryVariant, canaryEnvironments);
    const baselineCohort = pick(baselineVariant, baselineEnvironments);
    if (canaryCohort === undefined && baselineCohort === undefined) return false;
    const canary = canaryCohort === undefined ? emptyCounts() : countsOf(canaryCohort, state.judge);
    const baseline = baselineCohort === undefined ? emptyCounts() : countsOf(baselineCohort, state.judge);
    const pending = this.pendingOf(state);
    addCounts(pending.canary, canary);
    addCounts(pending.baseline, baseline);
    if (state.strategy !== 'environment')
      addIncrements(pending.increments, batchIncrements(state.judge, canary, baseline));
    return true;
  }

  private pendingOf(state: CanaryState): Pending {
    let pending = this.pending.get(state.id);
    if (pending === undefined) {
      pending = {
        start: this.now(),
        canary: emptyCounts(),
        baseline: emptyCounts(),
        increments: emptyIncrements(state.judge),
      };
      this.pending.set(state.id, pending);
    }
    return pending;
  }

  private windowOf(state: CanaryState, pending: Pending): CanaryWindow {
    const increments =
      state.strategy === 'environment'
        ? batchIncrements(state.judge, pending.canary, pending.baseline)
        : addIncrements(emptyIncrements(state.judge), pending.increments);
    return {
      start: new Date(pending.start).toISOString(),
      end: new Date(Math.max(this.now(), pending.start)).toISOString(),
      canary: addCounts(emptyCounts(), pending.canary),
      baseline: addCounts(emptyCounts(), pending.baseline),
      increments,
    };
  }

  private remember(batchId: string): void {
    this.seen.add(batchId);
    if (this.seen.size > SEEN_LIMIT) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
