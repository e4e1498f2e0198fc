import type { FlagDefinition, FlagSnapshot, SdkStatusReport } from '#rollgate/contracts';
import type { EvaluationContext, EvaluationEngine, EvaluationResult, JsonValue } from '#rollgate/evaluation';
import { ClientEvents, type FlagChangeEvent, type Listener, type StatusEvent } from './client-events.js';
import { refreshSlot, type ExposureSlot } from './exposure-slots.js';
import { FlagFeed } from './flag-feed.js';
import { FlagStore, type ClientStats } from './flag-store.js';
import { resolveOptions, type RollgateClientOptions } from './rollgate.options.js';
import { SdkError } from './sdk.errors.js';
import { SnapshotFileKeeper } from './snapshot-file.js';
import { Telemetry, type TrackOptions } from './telemetry.js';

export type { RollgateClientOptions, RollgateLogger } from './rollgate.options.js';
export type { ChangeCause, ClientStatus, FlagChangeEvent, StatusEvent } from './client-events.js';
export type { TrackOptions } from './telemetry.js';

const NOT_FOUND_DEFAULT = undefined as unknown as JsonValue;

/**
 * One environment's flags, evaluated locally and kept current from the flags service (see {@link FlagFeed}):
 * subscribe to the flag event stream, load a snapshot, apply events in stream-version order, re-snapshot on any
 * gap or reconnect while serving what it has. Evaluation stays here, on the facade; the parts are the store
 * (sync + engine), the feed (NATS), the telemetry (outcomes, status), the events and the snapshot file.
 */
export class RollgateClient {
  readonly environment: string;
  readonly clientId: string;
  /** Resolves once flags are loaded (from NATS, or from the snapshot file when NATS is unreachable). */
  readonly ready: Promise<void>;
  /** Counters for tests, benchmarks and logs. */
  readonly stats: ClientStats = { snapshots: 0, snapshotPages: 0, eventsApplied: 0, duplicates: 0, gaps: 0, badMessages: 0, rejectedFlags: 0, batchesPublished: 0 };

  private readonly events: ClientEvents;
  private readonly store: FlagStore;
  /** The store's engine, held here too: the hot path reads it without a hop. */
  private readonly engine: EvaluationEngine;
  /** Exposure counters per flag key, with the compiled flag (see ExposureSlot); only for flags the engine holds. */
  private readonly slots = new Map<string, ExposureSlot>();
  private readonly feed: FlagFeed;
  private readonly telemetry: Telemetry;
  private readonly snapshotFile: SnapshotFileKeeper | null;
  private resolveReady!: () => void;
  private isReadyValue = false;
  private readonly background: Promise<unknown>[] = [];

  private constructor(options: RollgateClientOptions, offline = false) {
    const config = resolveOptions(options, offline);
    this.environment = config.environment;
    this.clientId = config.clientId;
    this.events = new ClientEvents(config.logger);
    this.store = new FlagStore(config, this.stats, this.events, {
      takeSnapshot: () => void this.feed.takeSnapshot(),
      changed: () => this.snapshotFile?.schedule(),
    });
    this.engine = this.store.engine;
    this.feed = new FlagFeed(config, this.store, this.events, this.stats, (detail) => this.markReady(detail));
    this.telemetry = new Telemetry(config, this.store, this.slots, this.stats, this.feed);
    this.snapshotFile =
      options.snapshotFile === undefined
        ? null
        : new SnapshotFileKeeper(options.snapshotFile, config, { snapshot: () => this.store.sync.toSnapshot(), isReady: () => this.isReadyValue });
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  /** Creates a client and starts it in the background; evaluate right away (defaults until `ready`). */
  static create(options: RollgateClientOptions): RollgateClient {
    const client = new RollgateClient(options);
    client.start();
    return client;
  }

  /** Creates a client and waits until it is ready; on timeout it closes the client and throws SDK.NOT_READY. */
  static async connect(options: RollgateClientOptions): Promise<RollgateClient> {
    const client = RollgateClient.create(options);
    const timeoutMs = options.readyTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([client.ready.then(() => 'ready' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      await client.close();
      throw new SdkError('SDK.NOT_READY', `no flags for ${options.environment} within ${timeoutMs} ms (NATS unreachable and no snapshot file?)`);
    }
    return client;
  }

  /**
   * A client over a fixed snapshot, with no NATS: for tests of services that use flags, and for tools. Outcomes
   * go to `outcomeSink` when given.
   */
  static offline(options: Omit<RollgateClientOptions, 'servers' | 'connection'> & { snapshot: FlagSnapshot }): RollgateClient {
    const client = new RollgateClient({ ...options, statusIntervalMs: 0, resnapshotIntervalMs: 0 }, true);
    client.store.apply(client.store.sync.loadSnapshot({ ...options.snapshot, segments: options.snapshot.segments ?? [] }));
    client.markReady('offline snapshot');
    return client;
  }

  get isReady(): boolean {
    return this.isReadyValue;
  }

  get isConnected(): boolean {
    return this.feed.isConnected;
  }

  get isStale(): boolean {
    return this.feed.isStale;
  }

  /** Position of the last applied event or snapshot (decimal string). */
  get position(): string {
    return this.store.sync.position;
  }

  get flagCount(): number {
    return this.engine.size;
  }

  /** The definition as this client holds it (only this environment's config), or undefined. */
  getFlag(key: string): FlagDefinition | undefined {
    return this.store.sync.flag(key);
  }

  /** Every flag as this client holds it: compare with the flags service's snapshot. */
  snapshot(): FlagSnapshot {
    return this.store.sync.toSnapshot();
  }

  // ---- evaluation: synchronous, never throws -------------------------------------------------------------

  /**
   * Evaluates a flag with details and reason. An unknown flag gives `defaultValue` with reason ERROR and
   * errorCode FLAG_NOT_FOUND; a flag serving another type than the default gives ERROR/TYPE_MISMATCH.
   */
  evaluate<T extends JsonValue>(key: string, context: EvaluationContext, defaultValue: T): EvaluationResult<T> {
    const slot = this.slots.get(key);
    if (slot === undefined || slot.revision !== this.engine.revision) return this.evaluateSlow(key, context, defaultValue);
    const result = this.engine.evaluateFlag(slot.flag, context, defaultValue);
    if (result.errorCode === undefined) slot.count(result.variant ?? 'default');
    return result;
  }

  /**
   * True when the flag is on for the context; false for unknown flags. Counts exposure as `on`/`off`.
   *
   * One map lookup in all: the slot holds the compiled flag and its counters (see ExposureSlot). Kept this small
   * on purpose: V8 inlines a call chain into its caller up to a bytecode budget, and a larger method here left
   * the rollout's hashing out of the inlined code (+10-15 % on a 10 % rollout).
   */
  isEnabled(key: string, context: EvaluationContext): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined || slot.revision !== this.engine.revision) return this.isEnabledSlow(key, context);
    if (this.engine.isEnabledFlag(slot.flag, context)) {
      slot.on++;
      return true;
    }
    slot.off++;
    return false;
  }

  private evaluateSlow<T extends JsonValue>(key: string, context: EvaluationContext, defaultValue: T): EvaluationResult<T> {
    const slot = refreshSlot(this.slots, this.engine, this.telemetry.exposureSink, key, this.slots.get(key));
    if (slot === undefined) return this.engine.evaluate(key, context, defaultValue); // FLAG_NOT_FOUND
    const result = this.engine.evaluateFlag(slot.flag, context, defaultValue);
    if (result.errorCode === undefined) slot.count(result.variant ?? 'default');
    return result;
  }

  private isEnabledSlow(key: string, context: EvaluationContext): boolean {
    const slot = refreshSlot(this.slots, this.engine, this.telemetry.exposureSink, key, this.slots.get(key));
    if (slot === undefined) return false;
    const on = this.engine.isEnabledFlag(slot.flag, context);
    slot.count(on ? 'on' : 'off');
    return on;
  }

  /** The variant served (`on`/`off` for boolean flags, the variant key for experiments), undefined when unknown. */
  variant(key: string, context: EvaluationContext): string | undefined {
    return this.evaluate(key, context, NOT_FOUND_DEFAULT).variant;
  }

  // ---- outcomes ------------------------------------------------------------------------------------------

  /**
   * Runs `whenOn` or `whenOff` (sync or async) depending on the flag, returns its result, and tracks the outcome:
   * success when it returns or resolves, error when it throws or rejects (rethrown), with its latency.
   */
  withFeature<R>(key: string, context: EvaluationContext, whenOn: () => R, whenOff: () => R): R {
    const on = this.engine.isEnabled(key, context);
    const variant = this.cohortOf(key, context, on);
    this.slotOf(key)?.count(variant);
    return this.telemetry.timed(key, variant, this.telemetry.unitOf(context), on ? whenOn : whenOff);
  }

  /** Records one outcome for the flag's cohort of this context (its served variant unless `variant` is given). */
  track(key: string, context: EvaluationContext, outcome: TrackOptions): void {
    const variant = outcome.variant ?? this.cohortOf(key, context, this.engine.isEnabled(key, context));
    this.telemetry.outcomes.track(key, variant, this.telemetry.unitOf(context), outcome.outcome, outcome.latencyMs);
  }

  /** Closes the current outcome window and publishes every closed one now (also done every window and on close). */
  flushOutcomes(): number {
    return this.telemetry.flush();
  }

  private slotOf(key: string): ExposureSlot | undefined {
    const slot = this.slots.get(key);
    return slot !== undefined && slot.revision === this.engine.revision ? slot : refreshSlot(this.slots, this.engine, this.telemetry.exposureSink, key, slot);
  }

  private cohortOf(key: string, context: EvaluationContext, on: boolean): string {
    const flag = this.store.sync.flag(key);
    if (flag === undefined) return 'default';
    if (flag.type !== 'experiment') return on ? 'on' : 'off';
    return this.engine.evaluate(key, context, NOT_FOUND_DEFAULT).variant ?? 'default';
  }

  // ---- events --------------------------------------------------------------------------------------------

  /** `change`: any flag changed (this environment's view); `status`: connected, disconnected, stale, resnapshot, ready. */
  on(event: 'change', listener: Listener<FlagChangeEvent>): () => void;
  on(event: 'status', listener: Listener<StatusEvent>): () => void;
  on(event: 'change' | 'status', listener: Listener<FlagChangeEvent> | Listener<StatusEvent>): () => void {
    return this.events.on(event, listener);
  }

  onFlagChange(key: string, listener: Listener<FlagChangeEvent>): () => void {
    return this.events.onFlagChange(key, listener);
  }

  // ---- status report and snapshot file -------------------------------------------------------------------

  /** The applied-position report; public so tests and shutdown can send one on demand. */
  statusReport(): SdkStatusReport {
    return this.telemetry.statusReport();
  }

  publishStatus(): void {
    this.telemetry.publishStatus();
  }

  /** Writes the snapshot file now (also done, debounced, after every load and change). */
  async writeSnapshotFile(): Promise<void> {
    await this.snapshotFile?.write();
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------

  private start(): void {
    this.telemetry.start();
    this.feed.start();
    this.background.push(this.run());
  }

  private async run(): Promise<void> {
    await this.snapshotFile?.coldStart((saved) => {
      // Loaded only if NATS has not delivered a snapshot meanwhile.
      if (this.isReadyValue) return;
      this.feed.setStale(true);
      this.store.apply(this.store.sync.loadSnapshot(saved.snapshot));
      this.store.sync.requestSnapshot();
      this.markReady(`snapshot file saved ${saved.savedAt}`);
    });
    await this.feed.run();
  }

  private markReady(detail: string): void {
    if (this.isReadyValue) return;
    this.isReadyValue = true;
    this.resolveReady();
    this.events.emitStatus('ready', detail);
  }

  /** Publishes the last outcomes and status, writes the snapshot file, stops the feed, closes an owned connection. */
  async close(): Promise<void> {
    if (this.feed.isClosed) return;
    this.flushOutcomes();
    this.publishStatus();
    this.feed.halt();
    this.telemetry.stop();
    await this.snapshotFile?.close();
    await this.feed.disconnect();
  }
}
