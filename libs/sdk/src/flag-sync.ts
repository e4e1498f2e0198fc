import {
  evolveFlag,
  evolveSegment,
  FLAG_EVENT_TYPES,
  SEGMENT_EVENT_TYPES,
  type EventWire,
  type FlagDefinition,
  type FlagEvent,
  type FlagSnapshot,
  type Segment,
  type SegmentEvent,
} from '#rollgate/contracts';

/** One change the engine must take, in order: a flag or a segment defined (or gone, `null`). */
export type SyncOp =
  | {
      kind: 'flag';
      key: string;
      oldVersion: number | undefined;
      newVersion: number;
      flag: FlagDefinition;
      /** False when only another environment's config (or nothing this environment sees) changed. */
      relevant: boolean;
      /** The event that caused it; null when the change came from a snapshot. */
      event: EventWire | null;
    }
  | { kind: 'flag-removed'; key: string; oldVersion: number; event: null }
  | { kind: 'segment'; key: string; segment: Segment | null; event: EventWire | null };

export interface SyncResult {
  /** Set when a snapshot replaced everything: load it into the engine before `ops`. */
  reload: { flags: FlagDefinition[]; segments: Segment[]; position: string } | null;
  ops: SyncOp[];
  /** True when the machine now waits for a fresh snapshot (a gap, an unknown flag, an overflow). */
  resnapshot: boolean;
  duplicates: number;
}

export type SyncMode = 'awaiting-snapshot' | 'live';

export interface FlagSyncOptions {
  /** Events held while waiting for a snapshot; past it the buffer is dropped and one more snapshot is taken. */
  maxPending?: number;
}

const FLAG_STREAM = 'flag-';
const SEGMENT_STREAM = 'segment-';
const FLAG_TYPES = new Set<string>(FLAG_EVENT_TYPES);
const SEGMENT_TYPES = new Set<string>(SEGMENT_EVENT_TYPES);
/** Event ids remembered per stream since the last snapshot; older versions fall back to the version rule. */
const APPLIED_IDS_PER_STREAM = 32;

/** Only this environment's config is kept: 10 000 flags × N environments would otherwise all stay in memory. */
export function restrictToEnvironment(flag: FlagDefinition, environment: string): FlagDefinition {
  const keys = Object.keys(flag.environments);
  if (keys.length === 1 && keys[0] === environment) return flag;
  if (keys.length === 0) return flag;
  const config = flag.environments[environment];
  return { ...flag, environments: config === undefined ? {} : { [environment]: config } };
}

function sameIgnoringVersion(a: FlagDefinition, b: FlagDefinition): boolean {
  return JSON.stringify({ ...a, version: 0 }) === JSON.stringify({ ...b, version: 0 });
}

/**
 * The SDK's consistency core, as a pure state machine: a snapshot, then flag and segment events applied strictly
 * in stream-version order. Per stream: version ≤ local → duplicate, skipped; local + 1 → applied through the
 * shared `evolveFlag`; anything else (a hole, an unknown flag whose first event is not FlagCreated) → the machine
 * stops applying, buffers what arrives and asks for a snapshot, then replays the buffer on top of it. It never
 * applies an event out of order, so its state is always some per-stream prefix of the truth.
 *
 * Anyone who can publish into the event stream can forge a well-formed event, so the version alone does not prove
 * an event is the real one. The machine remembers the event id it applied at each version since the last snapshot:
 * another event at such a version, with a different id, is doubt — one of the two was not the real event — and so
 * is an event at a version it cannot place (after its last snapshot, yet never applied). Doubt is handled like a
 * gap: stop, buffer, re-snapshot. A snapshot carries no event ids, so up to its versions the version decides
 * (an event at or below them is a duplicate). A forged event therefore never makes the real event with the same
 * version count as a duplicate; at worst it costs one snapshot.
 *
 * Segment events follow the same rule as flag events (a member list's members arrive as chunk deltas, so a hole
 * cannot be skipped). A snapshot names removed segments with their last version (`removedSegments`), so the older
 * events of a removed segment still in flight count as duplicates rather than as holes.
 */
export class FlagSync {
  private modeValue: SyncMode = 'awaiting-snapshot';
  private readonly flags = new Map<string, FlagDefinition>();
  private readonly segments = new Map<string, Segment>();
  private readonly segmentVersions = new Map<string, number>();
  private pending: EventWire[] = [];
  /** Per stream id: the event id applied at each version since the last snapshot (at most APPLIED_IDS_PER_STREAM). */
  private readonly appliedIds = new Map<string, Map<number, string>>();
  /** Per stream id: versions up to this one are known only by version (the snapshot's, or forgotten ids). */
  private readonly trustedThrough = new Map<string, number>();
  private overflowed = false;
  private readonly maxPending: number;
  /** Position of the last applied event or loaded snapshot (decimal string). */
  position = '0';
  lastApplied: { eventId: string; recordedAt: string; position: string } | null = null;

  constructor(
    readonly environment: string,
    options: FlagSyncOptions = {},
  ) {
    this.maxPending = options.maxPending ?? 10_000;
  }

  get mode(): SyncMode {
    return this.modeValue;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  flag(key: string): FlagDefinition | undefined {
    return this.flags.get(key);
  }

  versionOf(key: string): number | undefined {
    return this.flags.get(key)?.version;
  }

  allFlags(): IterableIterator<FlagDefinition> {
    return this.flags.values();
  }

  allSegments(): IterableIterator<Segment> {
    return this.segments.values();
  }

  /** What a snapshot file holds: enough to resume exactly here. */
  toSnapshot(): FlagSnapshot {
    const removedSegments = [...this.segmentVersions].filter(([key]) => !this.segments.has(key)).map(([key, version]) => ({ key, version }));
    return { environment: this.environment, position: this.position, flags: [...this.flags.values()], segments: [...this.segments.values()], removedSegments };
  }

  /** Stop applying and wait for a snapshot (a reconnect, a consumer reset, any doubt). */
  requestSnapshot(): void {
    this.modeValue = 'awaiting-snapshot';
  }

  /** One delivered event. While awaiting a snapshot it is only buffered. */
  receive(event: EventWire): SyncResult {
    const result: SyncResult = { reload: null, ops: [], resnapshot: false, duplicates: 0 };
    if (this.modeValue === 'awaiting-snapshot') {
      this.buffer(event);
      result.resnapshot = true;
      return result;
    }
    if (this.step(event, result) === 'gap') {
      this.modeValue = 'awaiting-snapshot';
      this.pending = [event];
      result.resnapshot = true;
    }
    return result;
  }

  /**
   * Replaces the state with a snapshot (flags carry their stream version as `version`), reports every flag whose
   * version or presence changed as an op, then replays the buffered events on top.
   */
  loadSnapshot(snapshot: FlagSnapshot): SyncResult {
    const ops: SyncOp[] = [];
    const next = new Map<string, FlagDefinition>();
    for (const raw of snapshot.flags) next.set(raw.key, restrictToEnvironment(raw, this.environment));
    for (const [key, old] of this.flags) {
      if (!next.has(key)) ops.push({ kind: 'flag-removed', key, oldVersion: old.version, event: null });
    }
    for (const [key, flag] of next) {
      const old = this.flags.get(key);
      if (old === undefined || old.version !== flag.version) {
        ops.push({
          kind: 'flag', key, oldVersion: old?.version, newVersion: flag.version, flag,
          relevant: old === undefined || !sameIgnoringVersion(old, flag), event: null,
        });
      }
    }
    this.flags.clear();
    for (const [key, flag] of next) this.flags.set(key, flag);
    // Segment versions restart from the snapshot: its segments, and the versions its removed segments ended at.
    this.segments.clear();
    this.segmentVersions.clear();
    for (const removed of snapshot.removedSegments ?? []) this.segmentVersions.set(removed.key, removed.version);
    for (const segment of snapshot.segments ?? []) {
      this.segments.set(segment.key, segment);
      this.segmentVersions.set(segment.key, segment.version ?? 0);
    }
    // The snapshot is the truth up to its versions and carries no event ids: forget the ids applied before it.
    this.appliedIds.clear();
    this.trustedThrough.clear();
    for (const [key, flag] of next) this.trustedThrough.set(FLAG_STREAM + key, flag.version);
    for (const [key, version] of this.segmentVersions) this.trustedThrough.set(SEGMENT_STREAM + key, version);
    this.position = snapshot.position;
    const result: SyncResult = {
      reload: { flags: [...next.values()], segments: [...this.segments.values()], position: snapshot.position },
      ops,
      resnapshot: false,
      duplicates: 0,
    };
    const buffered = this.pending;
    this.pending = [];
    this.modeValue = 'live';
    if (this.overflowed) {
      // Events were thrown away while this snapshot was in flight: it may predate them, so take one more.
      this.overflowed = false;
      this.modeValue = 'awaiting-snapshot';
      result.resnapshot = true;
      return result;
    }
    for (let i = 0; i < buffered.length; i++) {
      if (this.step(buffered[i]!, result) === 'gap') {
        this.modeValue = 'awaiting-snapshot';
        this.pending = buffered.slice(i);
        result.resnapshot = true;
        break;
      }
    }
    return result;
  }

  private buffer(event: EventWire): void {
    if (this.pending.length >= this.maxPending) {
      this.pending = [];
      this.overflowed = true;
    }
    this.pending.push(event);
  }

  /**
   * An event at or below the local version: a duplicate when it is the event applied there, or when the version is
   * only known from a snapshot; doubt ('gap') when another event was applied there or the version cannot be placed.
   */
  private seenBefore(event: EventWire, result: SyncResult): 'duplicate' | 'gap' {
    const { streamId, streamVersion: version } = event;
    if (version <= (this.trustedThrough.get(streamId) ?? 0)) {
      result.duplicates++;
      return 'duplicate';
    }
    const applied = this.appliedIds.get(streamId)?.get(version);
    if (applied === event.eventId) {
      result.duplicates++;
      return 'duplicate';
    }
    return 'gap';
  }

  private remember(event: EventWire): void {
    let ids = this.appliedIds.get(event.streamId);
    if (!ids) this.appliedIds.set(event.streamId, (ids = new Map()));
    ids.set(event.streamVersion, event.eventId);
    if (ids.size > APPLIED_IDS_PER_STREAM) {
      const oldest = Math.min(...ids.keys());
      ids.delete(oldest);
      this.trustedThrough.set(event.streamId, Math.max(this.trustedThrough.get(event.streamId) ?? 0, oldest));
    }
  }

  private step(event: EventWire, result: SyncResult): 'applied' | 'duplicate' | 'gap' | 'ignored' {
    const { streamId, streamVersion: version } = event;
    if (streamId.startsWith(FLAG_STREAM) && FLAG_TYPES.has(event.type)) {
      const key = streamId.slice(FLAG_STREAM.length);
      const old = this.flags.get(key);
      const local = old?.version ?? 0;
      if (version <= local) return this.seenBefore(event, result);
      if (version !== local + 1 || (old === undefined && event.type !== 'FlagCreated')) return 'gap';
      const evolved = evolveFlag(old ?? null, event as unknown as FlagEvent, version);
      if (evolved === null) return 'gap';
      const flag = restrictToEnvironment(evolved, this.environment);
      this.flags.set(key, flag);
      this.remember(event);
      result.ops.push({
        kind: 'flag', key, oldVersion: old?.version, newVersion: version, flag,
        relevant: old === undefined || !sameIgnoringVersion(old, flag), event,
      });
      this.advance(event);
      return 'applied';
    }
    if (streamId.startsWith(SEGMENT_STREAM) && SEGMENT_TYPES.has(event.type)) {
      const key = streamId.slice(SEGMENT_STREAM.length);
      const local = this.segmentVersions.get(key) ?? 0;
      if (version <= local) return this.seenBefore(event, result);
      if (version !== local + 1) return 'gap';
      const segment = evolveSegment(this.segments.get(key) ?? null, event as unknown as SegmentEvent, version);
      this.segmentVersions.set(key, version);
      this.remember(event);
      if (segment === null) this.segments.delete(key);
      else this.segments.set(key, segment);
      result.ops.push({ kind: 'segment', key, segment, event });
      this.advance(event);
      return 'applied';
    }
    return 'ignored';
  }

  private advance(event: EventWire): void {
    this.position = event.globalPosition;
    this.lastApplied = { eventId: event.eventId, recordedAt: event.recordedAt, position: event.globalPosition };
  }
}
