import { EvaluationEngine, type Segment } from '#rollgate/evaluation';
import { causeOf, type ClientEvents, type FlagChangeEvent } from './client-events.js';
import { FlagSync, type SyncResult } from './flag-sync.js';
import type { ClientConfig } from './rollgate.options.js';

/** Counters for tests, benchmarks and logs. */
export interface ClientStats {
  snapshots: number;
  /** Snapshot pages received (a snapshot of any size comes in pages below the bus's payload limit). */
  snapshotPages: number;
  eventsApplied: number;
  duplicates: number;
  gaps: number;
  badMessages: number;
  rejectedFlags: number;
  batchesPublished: number;
}

export interface FlagStoreHooks {
  /** A gap in the event stream: the sync waits for a snapshot. */
  takeSnapshot(): void;
  /** Flags changed (the snapshot file is due). */
  changed(): void;
}

/**
 * The flags this client holds: {@link FlagSync} orders events and snapshots, the engine serves what it applied.
 * Every result goes through `apply`, which updates the engine and announces the changes.
 */
export class FlagStore {
  readonly engine: EvaluationEngine;
  readonly sync: FlagSync;
  /** Wall-clock time of the last applied change, for the status report. */
  appliedAt: number | null = null;
  /**
   * Segment changes not yet compiled into the engine. A member list arrives as up to 100 chunk events in a burst;
   * recompiling its 100 000 ids for each would cost a second, so the last version of each segment is compiled
   * once, on the next turn of the event loop or before the next flag change (which may reference it).
   */
  private readonly pendingSegments = new Map<string, Segment | null>();
  private flushScheduled = false;

  constructor(
    private readonly config: ClientConfig,
    private readonly stats: ClientStats,
    private readonly events: ClientEvents,
    private readonly hooks: FlagStoreHooks,
  ) {
    this.engine = new EvaluationEngine(config.environment, { clock: config.clock });
    this.sync = new FlagSync(config.environment);
  }

  apply(result: SyncResult, fromSnapshot = false): void {
    const { engine, stats, config } = this;
    stats.duplicates += result.duplicates;
    if (result.reload !== null) {
      // The reload holds every segment as of the snapshot and its replayed events: what was pending is in it.
      this.pendingSegments.clear();
      const report = engine.load({ environment: config.environment, position: result.reload.position, flags: result.reload.flags, segments: result.reload.segments });
      stats.rejectedFlags += report.rejected.length;
      for (const rejected of report.rejected) config.logger.warn('flag left out: invalid', { key: rejected.key, problems: rejected.problems });
    }
    for (const op of result.ops) {
      if (op.kind === 'segment') {
        if (op.event === null) continue;
        this.pendingSegments.set(op.key, op.segment);
        this.scheduleSegmentFlush();
        stats.eventsApplied++;
        continue;
      }
      if (op.kind === 'flag' && op.event !== null) {
        stats.eventsApplied++;
        this.flushSegments();
        try {
          engine.upsert(op.flag);
        } catch (error) {
          // Same rule as a snapshot load: an invalid definition is left out rather than served half-updated.
          engine.remove(op.key);
          stats.rejectedFlags++;
          config.logger.warn('flag left out: invalid', { key: op.key, error: String(error) });
        }
      }
      if (op.kind === 'flag' && !op.relevant) continue;
      const change: FlagChangeEvent =
        op.kind === 'flag'
          ? { key: op.key, oldVersion: op.oldVersion, newVersion: op.newVersion, flag: op.flag, cause: causeOf(op.event) }
          : { key: op.key, oldVersion: op.oldVersion, newVersion: undefined, flag: null, cause: { eventType: 'Snapshot' } };
      this.events.emitChange(change);
    }
    if (result.reload !== null && this.pendingSegments.size > 0) this.flushSegments();
    if (result.resnapshot && !fromSnapshot) {
      stats.gaps++;
      this.events.emitStatus('resnapshot', 'gap');
      this.hooks.takeSnapshot();
    } else if (result.resnapshot) stats.gaps++;
    if (result.reload !== null || result.ops.length > 0) {
      this.appliedAt = config.clock();
      this.hooks.changed();
    }
  }

  /** Compiles the pending segment changes (the newest version of each) into the engine. */
  flushSegments(): void {
    if (this.pendingSegments.size === 0) return;
    const pending = [...this.pendingSegments];
    this.pendingSegments.clear();
    for (const [key, segment] of pending) {
      try {
        if (segment === null) this.engine.removeSegment(key);
        else this.engine.upsertSegment(segment);
      } catch (error) {
        this.config.logger.warn('segment change refused by the engine', { key, error: String(error) });
      }
    }
  }

  private scheduleSegmentFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushSegments();
    });
  }
}
