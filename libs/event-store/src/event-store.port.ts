/**
 * The narrow port every service uses to persist and read events. Two implementations exist, Postgres and
 * in-memory, and one contract suite (event-store.contract.ts) runs against both so the twin cannot drift.
 */

/** Metadata carried on every event: who, why, and the command and correlation chain that produced it. */
export interface EventMetadata {
  actor?: string;
  reason?: string;
  commandId?: string;
  correlationId?: string;
  causationId?: string;
  [key: string]: unknown;
}

/** An event about to be appended. `eventId` is generated when absent; it doubles as the NATS message id. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata?: EventMetadata;
  eventId?: string;
  schemaVersion?: number;
}

/** A committed event as read back from the store. Positions are bigint: xid8 and bigint exceed 2^53. */
export interface RecordedEvent<Type extends string = string, Data = unknown> {
  globalPosition: bigint;
  transactionId: bigint;
  streamId: string;
  streamVersion: number;
  eventId: string;
  type: Type;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
  recordedAt: Date;
}

/**
 * A point in the gap-free "$all" order. Events are ordered by (transactionId, globalPosition) and a reader only
 * sees transactions older than every running one; a position alone is not a safe checkpoint.
 */
export interface AllPosition {
  transactionId: bigint;
  globalPosition: bigint;
}

export const START: AllPosition = Object.freeze({ transactionId: 0n, globalPosition: 0n });

/** `'any'`: no check; `'no_stream'`: the stream must not exist; a number: the stream's exact current version. */
export type ExpectedVersion = 'any' | 'no_stream' | number;

export interface AppendOptions {
  expectedVersion: ExpectedVersion;
  /** Makes the append idempotent: a repeated command id appends nothing and returns the first result. */
  commandId?: string;
  commandType?: string;
  /** Fingerprint of the request the command id stands for (see CommandHandler); stored with the command id. */
  requestHash?: string;
  /** Stream type recorded on first append; defaults to the stream id's prefix before the first '-'. */
  streamType?: string;
}

export interface AppendResult {
  streamId: string;
  /** The stream's version after this append (or after the original append, for a duplicate). */
  nextVersion: number;
  /** Global position of the first event appended (or originally appended). */
  firstPosition: bigint;
  /** True when the command id had already been applied and nothing was appended. */
  duplicate: boolean;
}

/** One stream's part of a multi-stream append: its events, expected version and (optional) command id. */
export interface StreamAppend extends AppendOptions {
  streamId: string;
  events: readonly NewEvent[];
}

/** Bounds for reading one stream; `asOf` gives the state at a global position or a time (time travel). */
export interface ReadStreamOptions {
  fromVersion?: number;
  toVersion?: number;
  asOf?: { globalPosition: bigint } | { time: Date };
}

export interface EventStore {
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * Several streams in one transaction (ADR 0012): each part is checked against its own expected version, and a
   * conflict on any part (or a command id applied meanwhile) rejects the whole append with a VersionConflictError.
   * A part whose command id was already applied before is not appended again and comes back as `duplicate`. The
   * events get one transaction id and ascending positions in the order given, so they are adjacent in "$all".
   * Results in the order of `parts`.
   */
  appendMany(parts: readonly StreamAppend[]): Promise<AppendResult[]>;
  /** Several streams at once (each in version order), optionally as of a position or a time; absent ones are empty. */
  readStreams(streamIds: readonly string[], options?: Pick<ReadStreamOptions, 'asOf'>): Promise<Map<string, RecordedEvent[]>>;
  /** Events strictly after `after` in the gap-free order, at most `limit`. */
  readAll(after: AllPosition, limit: number): Promise<RecordedEvent[]>;
  /** The stream's current version, 0 when it does not exist. */
  streamVersion(streamId: string): Promise<number>;
  /**
   * What an applied command id did: its stream, the version after it, its first position and its request
   * fingerprint; null when unused.
   */
  findCommand(commandId: string): Promise<AppliedCommand | null>;
  /** findCommand for many ids in one read: the applied ones, by command id. */
  findCommands(commandIds: readonly string[]): Promise<Map<string, AppliedCommand>>;
}

export interface AppliedCommand {
  streamId: string;
  version: number;
  position: bigint;
  /** The fingerprint the first append recorded; null when it sent none (or predates fingerprints). */
  requestHash: string | null;
}

/** Checkpoints of async readers (projections, the publisher), advanced by compare-and-set. */
export interface CheckpointStore {
  /** The stored position, or START when the checkpoint does not exist yet. */
  loadCheckpoint(name: string): Promise<AllPosition>;
  /** Moves `name` from `from` to `to`; false when another runner moved it first (the caller must stop). */
  advanceCheckpoint(name: string, from: AllPosition, to: AllPosition): Promise<boolean>;
  resetCheckpoint(name: string): Promise<void>;
}

/** Leadership held while the returned handle lives: only one publisher or projection runner acts at a time. */
export interface LeaderLease {
  readonly name: string;
  /** Resolves when leadership is lost (connection dropped); the holder must stop acting. */
  readonly lost: Promise<void>;
  /**
   * Asks the lock's holder whether the lease still holds (a round trip on its connection); false, and `lost`
   * resolved, when it does not. For after a reconnect, when a half-open connection may hide a lost lock.
   */
  verify(): Promise<boolean>;
  release(): Promise<void>;
}

export interface LeaderElection {
  /** Tries once; null when another process holds it. */
  tryAcquire(name: string): Promise<LeaderLease | null>;
}
