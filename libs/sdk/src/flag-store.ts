import { EvaluationEngine } from '#rollgate/evaluation';
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
      const report = engine.load({ environment: config.environment, position: result.reload.position, flags: result.reload.flags, segments: result.reload.segments });
      stats.rejectedFlags += report.rejected.length;
      for (const rejected of report.rejected) config.logger.warn('flag left out: invalid', { key: rejected.key, problems: rejected.problems });
    }
    for (const op of result.ops) {
      if (op.kind === 'segment') {
        if (op.event === null) continue;
        try {
          if (op.segment === null) engine.removeSegment(op.key);
          else engine.upsertSegment(op.segment);
        } catch (error) {
          config.logger.warn('segment change refused by the engine', { key: op.key, error: String(error) });
        }
        stats.eventsApplied++;
        continue;
      }
      if (op.kind === 'flag' && op.event !== null) {
        stats.eventsApplied++;
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
}
