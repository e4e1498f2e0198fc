import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import {
  decodeEventWire,
  eventStreamName,
  subjects,
  type EventWire,
  type FlagDefinition,
  type FlagSnapshot,
  type OutcomeBatch,
  type Reply,
  type SdkStatusReport,
} from '#rollgate/contracts';
import { EvaluationEngine, type CompiledFlag, type EvaluationContext, type EvaluationResult, type JsonValue } from '#rollgate/evaluation';
import { FlagSync, type SyncResult } from './flag-sync.js';
import { OutcomeAggregator } from './outcome-aggregator.js';
import { SdkError } from './sdk.errors.js';
import { readSnapshotFile, writeSnapshotFile } from './snapshot-file.js';

export interface RollgateLogger {
  warn(message: string, details?: Record<string, unknown>): void;
}

export interface RollgateClientOptions {
  /** The environment whose flags this client evaluates (`production`, `staging`...). */
  environment: string;
  /** NATS servers, e.g. `nats://127.0.0.1:4222`; ignored when `connection` is given. */
  servers?: string | string[];
  /** An existing connection to share; the client never closes it. */
  connection?: NatsConnection;
  /** Identifies this client in outcome batches and status reports; default a random UUID. */
  clientId?: string;
  /** Timeout of one snapshot request. Default 5 000 ms. */
  requestTimeoutMs?: number;
  /** `RollgateClient.connect` gives up (and closes the client) after this long without a first load. Default 15 000 ms. */
  readyTimeoutMs?: number;
  /** After this long without a connection, results carry reason STALE. Default 30 000 ms. */
  staleAfterMs?: number;
  /** Optional path of a snapshot file kept for cold starts while NATS is unreachable. */
  snapshotFile?: string;
  /** Debounce of snapshot file writes after changes. Default 1 000 ms. */
  snapshotFileDebounceMs?: number;
  /** Wall clock (epoch ms): gradual rollouts, windows, timestamps. Default Date.now. */
  clock?: () => number;
  /** Monotonic clock (ms) for withFeature latencies. Default performance.now. */
  monotonic?: () => number;
  /** Outcome windows (default 10 000 ms) and bounds; `enabled: false` publishes nothing. */
  outcomes?: { enabled?: boolean; windowMs?: number; maxPendingWindows?: number; maxErrorUnits?: number; unitAttribute?: string };
  /** Count evaluations per flag and variant into the outcome batches. Default true. */
  trackExposures?: boolean;
  /** Period of the applied-position report on `rg.sdk.<env>.status`. Default 5 000 ms; 0 disables it. */
  statusIntervalMs?: number;
  /**
   * A fresh snapshot this often while connected (default 300 000 ms; 0 disables). Stream versions reveal a lost
   * event at the next event of the same stream; this bounds how long a lost *last* event could go unnoticed.
   */
  resnapshotIntervalMs?: number;
  /** Receives outcome batches instead of NATS (offline clients, tests, forwarding elsewhere). */
  outcomeSink?: (batch: OutcomeBatch) => void;
  /** Subject root (`rg`) and event stream (`RG_EVT_FLAGS`); tests use private ones. */
  subjectRoot?: string;
  streamName?: string;
  logger?: RollgateLogger;
}

export interface ChangeCause {
  /** The event type, or `Snapshot` when a fresh snapshot brought the change (its cause is then unknown). */
  eventType: string;
  actor?: string;
  reason?: string;
  correlationId?: string;
  causationId?: string;
  commandId?: string;
  eventId?: string;
  recordedAt?: string;
}

export interface FlagChangeEvent {
  key: string;
  oldVersion: number | undefined;
  /** undefined when the flag vanished (a snapshot without it). */
  newVersion: number | undefined;
  flag: FlagDefinition | null;
  cause: ChangeCause;
}

export type ClientStatus = 'connected' | 'disconnected' | 'stale' | 'resnapshot' | 'ready';

export interface StatusEvent {
  status: ClientStatus;
  detail?: string;
}

export interface TrackOptions {
  outcome: 'success' | 'error';
  latencyMs?: number;
  /** The cohort; by default the variant this client serves the context. */
  variant?: string;
}

type Listener<T> = (event: T) => void;

/**
 * One flag's exposure counts for the current outcome window, and the compiled flag they belong to: the hot path
 * finds both with one map lookup (the engine is asked again only after it changed, see `revision`). The window
 * flush adds the counts to the aggregator and resets them; a slot idle for a whole window is dropped, and a slot
 * whose flag was removed hands its counts to the aggregator's current window when that is noticed (or at the flush).
 * With `trackExposures: false` the counts are discarded at the flush.
 */
class ExposureSlot {
  on = 0;
  off = 0;
  /** Other variants (experiments' variant keys through `evaluate`, `default`); null until one is counted. */
  others: OtherVariants | null = null;

  constructor(
    public flag: CompiledFlag,
    public revision: number,
  ) {}

  count(variant: string): void {
    if (variant === 'on') this.on++;
    else if (variant === 'off') this.off++;
    else (this.others ??= new OtherVariants()).count(variant);
  }

  /**
   * Adds the counts to the aggregator's current window (unless null: `trackExposures: false`) and resets them;
   * false when there were none.
   */
  drain(outcomes: OutcomeAggregator | null): boolean {
    const key = this.flag.key;
    let counted = false;
    if (this.on > 0) {
      outcomes?.exposure(key, 'on', this.on);
      this.on = 0;
      counted = true;
    }
    if (this.off > 0) {
      outcomes?.exposure(key, 'off', this.off);
      this.off = 0;
      counted = true;
    }
    const others = this.others;
    if (others !== null) {
      for (let i = 0; i < others.counts.length; i++) {
        if (others.counts[i]! > 0) {
          outcomes?.exposure(key, others.variants[i]!, others.counts[i]!);
          others.counts[i] = 0;
          counted = true;
        }
      }
    }
    return counted;
  }
}

/** Counts by variant index: a flag's few variants, in the order first seen, found by a short scan. */
class OtherVariants {
  readonly variants: string[] = [];
  readonly counts: number[] = [];

  count(variant: string): void {
    const variants = this.variants;
    for (let i = 0; i < variants.length; i++) {
      if (variants[i] === variant) {
        this.counts[i]!++;
        return;
      }
    }
    variants.push(variant);
    this.counts.push(1);
  }
}

const SNAPSHOT_RETRY_MIN_MS = 50;
const SNAPSHOT_RETRY_MAX_MS = 2_000;
const NOT_FOUND_DEFAULT = undefined as unknown as JsonValue;

/**
 * One environment's flags, evaluated locally and kept current from the flags service: it subscribes to the flag
 * event stream first (a JetStream ordered consumer: no server state per client, flow-controlled, self-healing),
 * then loads a snapshot, then applies events strictly in stream-version order through {@link FlagSync}. Any gap,
 * reconnect or consumer reset triggers a fresh snapshot; meanwhile it keeps serving what it has.
 */
export class RollgateClient {
  readonly environment: string;
  readonly clientId: string;
  /** Resolves once flags are loaded (from NATS, or from the snapshot file when NATS is unreachable). */
  readonly ready: Promise<void>;

  private readonly engine: EvaluationEngine;
  private readonly sync: FlagSync;
  private readonly outcomes: OutcomeAggregator;
  /** Exposure counters per flag key, with the compiled flag (see ExposureSlot); only for flags the engine holds. */
  private readonly slots = new Map<string, ExposureSlot>();
  private readonly clock: () => number;
  private readonly monotonic: () => number;
  private readonly root: string;
  private readonly streamName: string;
  private readonly logger: RollgateLogger;
  private readonly trackExposures: boolean;
  private readonly unitAttribute: string;
  private nc: NatsConnection | null = null;
  private readonly ownsConnection: boolean;
  private messages: ConsumerMessages | null = null;
  private feedGeneration = 0;
  /** Stream sequence of the last event message received; the feed restarts after it. */
  private lastStreamSeq: number | null = null;
  private resolveReady!: () => void;
  private isReadyValue = false;
  private closed = false;
  private connected = false;
  private stale = false;
  private snapshotInFlight = false;
  private snapshotAgain = false;
  private staleTimer: NodeJS.Timeout | null = null;
  private fileTimer: NodeJS.Timeout | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly changeListeners = new Set<Listener<FlagChangeEvent>>();
  private readonly flagListeners = new Map<string, Set<Listener<FlagChangeEvent>>>();
  private readonly statusListeners = new Set<Listener<StatusEvent>>();
  private appliedAt: number | null = null;
  private readonly background: Promise<unknown>[] = [];
  /** Counters for tests, benchmarks and logs. */
  readonly stats = { snapshots: 0, eventsApplied: 0, duplicates: 0, gaps: 0, badMessages: 0, rejectedFlags: 0, batchesPublished: 0 };

  private constructor(
    private readonly options: RollgateClientOptions,
    offline = false,
  ) {
    if (!options.environment) throw new SdkError('SDK.BAD_OPTIONS', 'environment is required');
    if (!offline && options.connection === undefined && options.servers === undefined) {
      throw new SdkError('SDK.BAD_OPTIONS', 'servers or connection is required');
    }
    this.environment = options.environment;
    this.clientId = options.clientId ?? randomUUID();
    this.clock = options.clock ?? Date.now;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.root = options.subjectRoot ?? 'rg';
    this.streamName = options.streamName ?? eventStreamName('flags');
    this.logger = options.logger ?? { warn: (message, details) => console.warn(`[rollgate-sdk] ${message}`, details ?? '') };
    this.trackExposures = options.trackExposures ?? true;
    this.unitAttribute = options.outcomes?.unitAttribute ?? 'userId';
    this.ownsConnection = options.connection === undefined;
    this.engine = new EvaluationEngine(this.environment, { clock: this.clock });
    this.sync = new FlagSync(this.environment);
    this.outcomes = new OutcomeAggregator(
      {
        clientId: this.clientId,
        environment: this.environment,
        maxPendingWindows: options.outcomes?.maxPendingWindows,
        maxErrorUnits: options.outcomes?.maxErrorUnits,
      },
      this.clock(),
    );
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
    client.applyResult(client.sync.loadSnapshot({ ...options.snapshot, segments: options.snapshot.segments ?? [] }));
    client.markReady('offline snapshot');
    return client;
  }

  get isReady(): boolean {
    return this.isReadyValue;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get isStale(): boolean {
    return this.stale;
  }

  /** Position of the last applied event or snapshot (decimal string). */
  get position(): string {
    return this.sync.position;
  }

  get flagCount(): number {
    return this.engine.size;
  }

  /** The definition as this client holds it (only this environment's config), or undefined. */
  getFlag(key: string): FlagDefinition | undefined {
    return this.sync.flag(key);
  }

  /** Every flag as this client holds it: compare with the flags service's snapshot. */
  snapshot(): FlagSnapshot {
    return this.sync.toSnapshot();
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
    const slot = this.refreshSlot(key, this.slots.get(key));
    if (slot === undefined) return this.engine.evaluate(key, context, defaultValue); // FLAG_NOT_FOUND
    const result = this.engine.evaluateFlag(slot.flag, context, defaultValue);
    if (result.errorCode === undefined) slot.count(result.variant ?? 'default');
    return result;
  }

  private isEnabledSlow(key: string, context: EvaluationContext): boolean {
    const slot = this.refreshSlot(key, this.slots.get(key));
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
  withFeature<R>(
    key: string,
    context: EvaluationContext,
    whenOn: () => R,
    whenOff: () => R,
  ): R {
    const on = this.engine.isEnabled(key, context);
    const variant = this.cohortOf(key, context, on);
    this.slotOf(key)?.count(variant);
    const unit = this.unitOf(context);
    const started = this.monotonic();
    let value: R;
    try {
      value = on ? whenOn() : whenOff();
    } catch (error) {
      this.outcomes.track(key, variant, unit, 'error', this.monotonic() - started);
      throw error;
    }
    if (value instanceof Promise) {
      return value.then(
        (resolved: unknown) => {
          this.outcomes.track(key, variant, unit, 'success', this.monotonic() - started);
          return resolved;
        },
        (error: unknown) => {
          this.outcomes.track(key, variant, unit, 'error', this.monotonic() - started);
          throw error;
        },
      ) as R;
    }
    this.outcomes.track(key, variant, unit, 'success', this.monotonic() - started);
    return value;
  }

  /** Records one outcome for the flag's cohort of this context (its served variant unless `variant` is given). */
  track(key: string, context: EvaluationContext, outcome: TrackOptions): void {
    const variant = outcome.variant ?? this.cohortOf(key, context, this.engine.isEnabled(key, context));
    this.outcomes.track(key, variant, this.unitOf(context), outcome.outcome, outcome.latencyMs);
  }

  /** Closes the current outcome window and publishes every closed one now (also done every window and on close). */
  flushOutcomes(): number {
    this.drainExposures();
    this.outcomes.roll(this.clock());
    return this.publishOutcomes();
  }

  private slotOf(key: string): ExposureSlot | undefined {
    const slot = this.slots.get(key);
    return slot !== undefined && slot.revision === this.engine.revision ? slot : this.refreshSlot(key, slot);
  }

  /**
   * The slowpath of the evaluation methods: a first evaluation of the flag (in this window), or the engine
   * changed since the slot took its compiled flag. A removed flag's slot is dropped after handing over its counts.
   */
  private refreshSlot(key: string, slot: ExposureSlot | undefined): ExposureSlot | undefined {
    const flag = this.engine.lookup(key);
    const revision = this.engine.revision;
    if (flag === undefined) {
      if (slot !== undefined) {
        // Removed: what it counted goes into the current window now (no window was closed since it counted).
        this.slots.delete(key);
        slot.drain(this.trackExposures ? this.outcomes : null);
      }
      return undefined;
    }
    if (slot === undefined) this.slots.set(key, (slot = new ExposureSlot(flag, revision)));
    else {
      slot.flag = flag;
      slot.revision = revision;
    }
    return slot;
  }

  /**
   * Moves the exposures counted since the last flush into the aggregator's current window, right before it is
   * closed, so they land in the same window as before. Slots that counted nothing in the window are dropped:
   * memory follows the flags in use, and a flag evaluated again gets a new slot.
   */
  private drainExposures(): void {
    const outcomes = this.trackExposures ? this.outcomes : null;
    for (const [key, slot] of this.slots) {
      if (!slot.drain(outcomes)) this.slots.delete(key);
    }
  }

  private cohortOf(key: string, context: EvaluationContext, on: boolean): string {
    const flag = this.sync.flag(key);
    if (flag === undefined) return 'default';
    if (flag.type !== 'experiment') return on ? 'on' : 'off';
    return this.engine.evaluate(key, context, NOT_FOUND_DEFAULT).variant ?? 'default';
  }

  private unitOf(context: EvaluationContext): string | undefined {
    const unit = context?.[this.unitAttribute] ?? context?.['targetingKey'];
    return typeof unit === 'string' || typeof unit === 'number' ? String(unit) : undefined;
  }

  // ---- events --------------------------------------------------------------------------------------------

  /** `change`: any flag changed (this environment's view); `status`: connected, disconnected, stale, resnapshot, ready. */
  on(event: 'change', listener: Listener<FlagChangeEvent>): () => void;
  on(event: 'status', listener: Listener<StatusEvent>): () => void;
  on(event: 'change' | 'status', listener: Listener<FlagChangeEvent> | Listener<StatusEvent>): () => void {
    const set = (event === 'change' ? this.changeListeners : this.statusListeners) as Set<typeof listener>;
    set.add(listener);
    return () => set.delete(listener);
  }

  onFlagChange(key: string, listener: Listener<FlagChangeEvent>): () => void {
    let set = this.flagListeners.get(key);
    if (set === undefined) this.flagListeners.set(key, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit<T>(listeners: Iterable<Listener<T>>, event: T): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn('a listener threw', { error: String(error) });
      }
    }
  }

  private emitStatus(status: ClientStatus, detail?: string): void {
    this.emit(this.statusListeners, detail === undefined ? { status } : { status, detail });
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------

  private start(): void {
    const windowMs = this.options.outcomes?.windowMs ?? 10_000;
    if (this.options.outcomes?.enabled !== false) {
      this.timers.push(setInterval(() => this.flushOutcomes(), windowMs).unref());
    }
    const statusMs = this.options.statusIntervalMs ?? 5_000;
    if (statusMs > 0) this.timers.push(setInterval(() => this.publishStatus(), statusMs).unref());
    const resnapshotMs = this.options.resnapshotIntervalMs ?? 300_000;
    if (resnapshotMs > 0) {
      this.timers.push(setInterval(() => this.connected && this.messages !== null && this.resnapshot('periodic'), resnapshotMs).unref());
    }
    this.background.push(this.run());
  }

  private async run(): Promise<void> {
    if (this.options.snapshotFile !== undefined) {
      try {
        const saved = await readSnapshotFile(this.options.snapshotFile, this.environment);
        // Loaded only if NATS has not delivered a snapshot meanwhile.
        if (saved !== null && !this.isReadyValue) {
          this.setStale(true);
          this.applyResult(this.sync.loadSnapshot(saved.snapshot));
          this.sync.requestSnapshot();
          this.markReady(`snapshot file saved ${saved.savedAt}`);
        }
      } catch (error) {
        this.logger.warn('snapshot file ignored', { error: String(error) });
      }
    }
    if (this.options.connection !== undefined) this.nc = this.options.connection;
    else {
      // The stale timer runs from the start: a cold start from the file is stale until NATS answers.
      this.armStaleTimer();
      // Our own first-connect loop rather than waitOnFirstConnect, so close() can stop it.
      for (let attempt = 0; this.nc === null; attempt++) {
        if (this.closed) return;
        try {
          this.nc = await connect({
            servers: this.options.servers,
            name: `rollgate-sdk:${this.clientId}`,
            timeout: 2_000,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 250,
            pingInterval: 5_000,
            maxPingOut: 2,
          });
        } catch (error) {
          if (attempt === 0) this.logger.warn('cannot connect to NATS; retrying', { error: String(error) });
          await this.sleep(Math.min(SNAPSHOT_RETRY_MAX_MS, SNAPSHOT_RETRY_MIN_MS * 2 ** attempt));
        }
      }
    }
    if (this.closed) {
      if (this.ownsConnection) await this.nc.close();
      return;
    }
    this.setConnected(true);
    void this.watchConnection(this.nc);
    await this.startFeed();
  }

  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.closed) return;
      if (status.type === 'disconnect') this.setConnected(false);
      else if (status.type === 'reconnect') {
        this.setConnected(true);
        this.sync.requestSnapshot();
        this.emitStatus('resnapshot', 'reconnect');
        void this.startFeed();
      }
    }
  }

  /**
   * Subscribe first, then snapshot: no event committed after the snapshot is missed. The first time the feed
   * starts at the stream's next sequence; after a reconnect it restarts right after the last message seen (a
   * server restart loses ordered consumers, and waiting for missed heartbeats would take tens of seconds).
   */
  private async startFeed(): Promise<void> {
    const nc = this.nc!;
    const generation = ++this.feedGeneration;
    const previous = this.messages;
    this.messages = null;
    await previous?.close().catch(() => undefined);
    for (let attempt = 0; !this.closed && generation === this.feedGeneration; attempt++) {
      try {
        if (this.lastStreamSeq === null) {
          const info = await (await jetstreamManager(nc)).streams.info(this.streamName);
          this.lastStreamSeq = info.state.last_seq;
        }
        const consumer = await jetstream(nc).consumers.get(this.streamName, {
          filter_subjects: `${this.root}.evt.flags.>`,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.lastStreamSeq + 1,
        });
        const messages = await consumer.consume({
          expires: 10_000,
          callback: (msg: JsMsg) => {
            if (generation !== this.feedGeneration) return;
            this.lastStreamSeq = msg.seq;
            this.onMessage(msg.data);
          },
        });
        if (this.closed || generation !== this.feedGeneration) {
          await messages.close().catch(() => undefined);
          return;
        }
        this.messages = messages;
        void this.watchConsumer(messages, generation);
        this.resnapshot('subscribed');
        return;
      } catch (error) {
        if (this.closed) return;
        this.logger.warn('cannot subscribe to flag events; retrying', { stream: this.streamName, error: String(error) });
        await this.sleep(Math.min(SNAPSHOT_RETRY_MAX_MS, SNAPSHOT_RETRY_MIN_MS * 2 ** attempt));
      }
    }
  }

  private async watchConsumer(messages: ConsumerMessages, generation: number): Promise<void> {
    for await (const note of messages.status()) {
      if (this.closed || generation !== this.feedGeneration) return;
      if (note.type === 'reset' || note.type === 'ordered_consumer_recreated' || note.type === 'heartbeats_missed') {
        this.resnapshot(`consumer ${note.type}`);
      }
    }
  }

  private onMessage(data: Uint8Array): void {
    let event: EventWire;
    try {
      event = decodeEventWire(data);
    } catch (error) {
      // A message we cannot read may have been a flag event: the next one of that stream shows the gap.
      this.stats.badMessages++;
      this.logger.warn('undecodable event message', { error: String(error) });
      return;
    }
    this.applyResult(this.sync.receive(event));
  }

  private resnapshot(why: string): void {
    if (this.closed) return;
    this.sync.requestSnapshot();
    this.emitStatus('resnapshot', why);
    void this.takeSnapshot();
  }

  /** One snapshot request at a time; a request asked for meanwhile runs right after. Retries with backoff. */
  private async takeSnapshot(): Promise<void> {
    if (this.snapshotInFlight) {
      this.snapshotAgain = true;
      return;
    }
    this.snapshotInFlight = true;
    try {
      for (let retries = 0; !this.closed && this.sync.mode === 'awaiting-snapshot'; retries++) {
        this.snapshotAgain = false;
        if (!this.connected || this.nc === null) return; // the reconnect handler asks again
        try {
          const snapshot = await this.requestSnapshot(this.nc);
          if (this.closed) return;
          this.stats.snapshots++;
          const result = this.sync.loadSnapshot(snapshot);
          this.applyResult(result, true);
          if ((this.sync.mode as string) === 'live') {
            this.setStale(false);
            this.markReady('snapshot');
          }
        } catch (error) {
          if (this.closed) return;
          this.logger.warn('snapshot request failed; retrying', { error: String(error) });
        }
        if (this.sync.mode === 'awaiting-snapshot' && !this.snapshotAgain) {
          // A gap right after a snapshot means the snapshot lags the stream: give the responder time.
          await this.sleep(Math.min(SNAPSHOT_RETRY_MAX_MS, SNAPSHOT_RETRY_MIN_MS * 2 ** retries));
        }
      }
    } finally {
      this.snapshotInFlight = false;
    }
  }

  private async requestSnapshot(nc: NatsConnection): Promise<FlagSnapshot> {
    // Queries are the raw query object (apps/flags README, "Queries"): an envelope is refused as unknown fields.
    const subject = this.subject(subjects.query('flags', 'snapshot'));
    const msg = await nc.request(subject, JSON.stringify({ environment: this.environment }), { timeout: this.options.requestTimeoutMs ?? 5_000 });
    const reply = msg.json<Reply<FlagSnapshot>>();
    if (!reply.ok) throw new SdkError('SDK.SNAPSHOT_FAILED', `${reply.error.code}: ${reply.error.message}`);
    const snapshot = reply.result;
    if (snapshot.environment !== this.environment || !Array.isArray(snapshot.flags)) {
      throw new SdkError('SDK.SNAPSHOT_FAILED', `snapshot reply is not for ${this.environment}`);
    }
    return { ...snapshot, position: String(snapshot.position ?? '0'), segments: snapshot.segments ?? [] };
  }

  private applyResult(result: SyncResult, fromSnapshot = false): void {
    this.stats.duplicates += result.duplicates;
    if (result.reload !== null) {
      const report = this.engine.load({ environment: this.environment, position: result.reload.position, flags: result.reload.flags, segments: result.reload.segments });
      this.stats.rejectedFlags += report.rejected.length;
      for (const rejected of report.rejected) this.logger.warn('flag left out: invalid', { key: rejected.key, problems: rejected.problems });
    }
    for (const op of result.ops) {
      if (op.kind === 'segment') {
        if (op.event === null) continue;
        try {
          if (op.segment === null) this.engine.removeSegment(op.key);
          else this.engine.upsertSegment(op.segment);
        } catch (error) {
          this.logger.warn('segment change refused by the engine', { key: op.key, error: String(error) });
        }
        this.stats.eventsApplied++;
        continue;
      }
      if (op.kind === 'flag' && op.event !== null) {
        this.stats.eventsApplied++;
        try {
          this.engine.upsert(op.flag);
        } catch (error) {
          // Same rule as a snapshot load: an invalid definition is left out rather than served half-updated.
          this.engine.remove(op.key);
          this.stats.rejectedFlags++;
          this.logger.warn('flag left out: invalid', { key: op.key, error: String(error) });
        }
      }
      if (op.kind === 'flag' && !op.relevant) continue;
      const change: FlagChangeEvent =
        op.kind === 'flag'
          ? { key: op.key, oldVersion: op.oldVersion, newVersion: op.newVersion, flag: op.flag, cause: causeOf(op.event) }
          : { key: op.key, oldVersion: op.oldVersion, newVersion: undefined, flag: null, cause: { eventType: 'Snapshot' } };
      this.emit(this.changeListeners, change);
      const perFlag = this.flagListeners.get(op.key);
      if (perFlag !== undefined) this.emit(perFlag, change);
    }
    if (result.resnapshot && !fromSnapshot) {
      this.stats.gaps++;
      this.emitStatus('resnapshot', 'gap');
      void this.takeSnapshot();
    } else if (result.resnapshot) this.stats.gaps++;
    if (result.reload !== null || result.ops.length > 0) {
      this.appliedAt = this.clock();
      this.scheduleSnapshotFile();
    }
  }

  private markReady(detail: string): void {
    if (this.isReadyValue) return;
    this.isReadyValue = true;
    this.resolveReady();
    this.emitStatus('ready', detail);
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    if (connected) {
      if (this.staleTimer !== null) clearTimeout(this.staleTimer);
      this.staleTimer = null;
      this.emitStatus('connected');
    } else {
      this.emitStatus('disconnected');
      this.armStaleTimer();
    }
  }

  private armStaleTimer(): void {
    if (this.staleTimer !== null) clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => {
      this.staleTimer = null;
      if (!this.connected && !this.closed) this.setStale(true);
    }, this.options.staleAfterMs ?? 30_000);
    this.staleTimer.unref();
  }

  private setStale(stale: boolean): void {
    if (this.stale === stale) return;
    this.stale = stale;
    this.engine.setStale(stale);
    if (stale) this.emitStatus('stale');
  }

  // ---- publishing ----------------------------------------------------------------------------------------

  private subject(standard: string): string {
    return this.root === 'rg' ? standard : `${this.root}${standard.slice(2)}`;
  }

  private publishOutcomes(): number {
    const sink = this.options.outcomeSink;
    if (sink !== undefined) {
      const batches = this.outcomes.takeBatches();
      for (const batch of batches) sink(batch);
      this.stats.batchesPublished += batches.length;
      return batches.length;
    }
    // While disconnected closed windows wait in the aggregator's bounded queue, not in the NATS client's buffer.
    if (!this.connected || this.nc === null || this.nc.isClosed()) return 0;
    const batches = this.outcomes.takeBatches();
    for (const batch of batches) {
      this.nc.publish(this.subject(subjects.outcomes(this.environment, batch.flagKey)), JSON.stringify(batch));
    }
    this.stats.batchesPublished += batches.length;
    return batches.length;
  }

  /** The applied-position report; public so tests and shutdown can send one on demand. */
  statusReport(): SdkStatusReport {
    const last = this.sync.lastApplied;
    return {
      clientId: this.clientId,
      environment: this.environment,
      appliedPosition: this.sync.position,
      appliedEventId: last?.eventId ?? null,
      lastEventRecordedAt: last?.recordedAt ?? null,
      appliedAt: this.appliedAt === null ? null : new Date(this.appliedAt).toISOString(),
      state: this.stale ? 'stale' : this.connected ? 'connected' : 'disconnected',
    };
  }

  publishStatus(): void {
    if (!this.connected || this.nc === null || this.nc.isClosed()) return;
    this.nc.publish(this.subject(subjects.sdkStatus(this.environment)), JSON.stringify(this.statusReport()));
  }

  private scheduleSnapshotFile(): void {
    const path = this.options.snapshotFile;
    if (path === undefined || this.fileTimer !== null || this.closed) return;
    this.fileTimer = setTimeout(() => {
      this.fileTimer = null;
      void this.writeSnapshotFile();
    }, this.options.snapshotFileDebounceMs ?? 1_000);
    this.fileTimer.unref();
  }

  /** Writes the snapshot file now (also done, debounced, after every load and change). */
  async writeSnapshotFile(): Promise<void> {
    const path = this.options.snapshotFile;
    if (path === undefined || !this.isReadyValue) return;
    try {
      await writeSnapshotFile(path, this.sync.toSnapshot(), this.clock());
    } catch (error) {
      this.logger.warn('cannot write snapshot file', { path, error: String(error) });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
    });
  }

  /** Publishes the last outcomes and status, writes the snapshot file, stops the feed, closes an owned connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flushOutcomes();
    this.publishStatus();
    this.closed = true;
    this.connected = false;
    for (const timer of this.timers) clearInterval(timer);
    if (this.staleTimer !== null) clearTimeout(this.staleTimer);
    if (this.fileTimer !== null) {
      clearTimeout(this.fileTimer);
      this.fileTimer = null;
      await this.writeSnapshotFile();
    }
    await this.messages?.close().catch(() => undefined);
    const nc = this.nc;
    if (nc !== null && !nc.isClosed()) {
      if (this.ownsConnection) await nc.drain().catch(() => nc.close());
      else await nc.flush().catch(() => undefined);
    }
  }
}

function causeOf(event: EventWire | null): ChangeCause {
  if (event === null) return { eventType: 'Snapshot' };
  const m = event.metadata;
  const pick = (key: string): string | undefined => (typeof m[key] === 'string' ? (m[key] as string) : undefined);
  return {
    eventType: event.type,
    actor: pick('actor'),
    reason: pick('reason'),
    correlationId: pick('correlationId'),
    causationId: pick('causationId'),
    commandId: pick('commandId'),
    eventId: event.eventId,
    recordedAt: event.recordedAt,
  };
}
