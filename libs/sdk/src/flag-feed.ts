import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import {
  decodeEventWire,
  eventStreamName,
  readPagedSnapshot,
  subjects,
  type EventWire,
  type FlagSnapshot,
  type FlagSnapshotPage,
  type Reply,
} from '#rollgate/contracts';
import type { ClientEvents } from './client-events.js';
import type { ClientStats, FlagStore } from './flag-store.js';
import type { ClientConfig, RollgateClientOptions } from './rollgate.options.js';
import { SdkError } from './sdk.errors.js';

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;
const backoff = (attempt: number): number => Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);

/**
 * The NATS side of the client: the connection (its own, or a shared one it never closes), the flag event feed
 * and snapshot requests. It subscribes to the flag event stream first (a JetStream ordered consumer: no server
 * state per client, flow-controlled, self-healing), then loads a snapshot, then hands events to the store, which
 * applies them strictly in stream-version order. Any gap, reconnect or consumer reset triggers a fresh snapshot.
 * Also tracks connected/stale, and publishes for the telemetry.
 */
export class FlagFeed {
  private readonly options: ClientConfig['options'];
  private readonly root: string;
  private readonly streamName: string;
  private readonly ownsConnection: boolean;
  private nc: NatsConnection | null = null;
  private messages: ConsumerMessages | null = null;
  private feedGeneration = 0;
  /** Stream sequence of the last event message received; the feed restarts after it. */
  private lastStreamSeq: number | null = null;
  private closed = false;
  private connected = false;
  private stale = false;
  private snapshotInFlight = false;
  private snapshotAgain = false;
  private staleTimer: NodeJS.Timeout | null = null;
  private resnapshotTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: ClientConfig,
    private readonly store: FlagStore,
    private readonly events: ClientEvents,
    private readonly stats: ClientStats,
    /** Called when a snapshot brought the flags live. */
    private readonly markReady: (detail: string) => void,
  ) {
    this.options = config.options;
    this.root = this.options.subjectRoot ?? 'rg';
    this.streamName = this.options.streamName ?? eventStreamName('flags');
    this.ownsConnection = this.options.connection === undefined;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get isStale(): boolean {
    return this.stale;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Arms the periodic resnapshot; `run` does the rest. */
  start(): void {
    const resnapshotMs = this.options.resnapshotIntervalMs ?? 300_000;
    if (resnapshotMs > 0) {
      this.resnapshotTimer = setInterval(() => this.connected && this.messages !== null && this.resnapshot('periodic'), resnapshotMs).unref();
    }
  }

  /** Connects (retrying until closed), then starts the feed. */
  async run(): Promise<void> {
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
            name: `rollgate-sdk:${this.config.clientId}`,
            ...loginOf(this.options),
            timeout: 2_000,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 250,
            pingInterval: 5_000,
            maxPingOut: 2,
          });
        } catch (error) {
          if (attempt === 0) this.config.logger.warn('cannot connect to NATS; retrying', { error: String(error) });
          await sleep(backoff(attempt));
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

  /** Stops everything synchronously (no more snapshots, retries, status changes); `disconnect` then lets go of NATS. */
  halt(): void {
    this.closed = true;
    this.connected = false;
    if (this.resnapshotTimer !== null) clearInterval(this.resnapshotTimer);
    if (this.staleTimer !== null) clearTimeout(this.staleTimer);
  }

  /** Stops the feed and closes an owned connection (a shared one is only flushed). */
  async disconnect(): Promise<void> {
    await this.messages?.close().catch(() => undefined);
    const nc = this.nc;
    if (nc !== null && !nc.isClosed()) {
      if (this.ownsConnection) await nc.drain().catch(() => nc.close());
      else await nc.flush().catch(() => undefined);
    }
  }

  // ---- publishing for the telemetry ----------------------------------------------------------------------

  /** False while disconnected: what would be published waits elsewhere rather than in the NATS client's buffer. */
  canPublish(): boolean {
    return this.connected && this.nc !== null && !this.nc.isClosed();
  }

  /** Publishes on a standard subject (`rg....`) under this client's subject root; check `canPublish` first. */
  publish(standardSubject: string, data: string): void {
    this.nc!.publish(this.subject(standardSubject), data);
  }

  private subject(standard: string): string {
    return this.root === 'rg' ? standard : `${this.root}${standard.slice(2)}`;
  }

  // ---- connection state ----------------------------------------------------------------------------------

  setStale(stale: boolean): void {
    if (this.stale === stale) return;
    this.stale = stale;
    this.store.engine.setStale(stale);
    if (stale) this.events.emitStatus('stale');
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    if (connected) {
      if (this.staleTimer !== null) clearTimeout(this.staleTimer);
      this.staleTimer = null;
      this.events.emitStatus('connected');
    } else {
      this.events.emitStatus('disconnected');
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

  private async watchConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.closed) return;
      if (status.type === 'disconnect') this.setConnected(false);
      else if (status.type === 'reconnect') {
        this.setConnected(true);
        this.store.sync.requestSnapshot();
        this.events.emitStatus('resnapshot', 'reconnect');
        void this.startFeed();
      }
    }
  }

  // ---- feed and snapshots --------------------------------------------------------------------------------

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
        this.config.logger.warn('cannot subscribe to flag events; retrying', { stream: this.streamName, error: String(error) });
        await sleep(backoff(attempt));
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
      this.config.logger.warn('undecodable event message', { error: String(error) });
      return;
    }
    this.store.apply(this.store.sync.receive(event));
  }

  private resnapshot(why: string): void {
    if (this.closed) return;
    this.store.sync.requestSnapshot();
    this.events.emitStatus('resnapshot', why);
    void this.takeSnapshot();
  }

  /** One snapshot request at a time; a request asked for meanwhile runs right after. Retries with backoff. */
  async takeSnapshot(): Promise<void> {
    if (this.snapshotInFlight) {
      this.snapshotAgain = true;
      return;
    }
    const sync = this.store.sync;
    this.snapshotInFlight = true;
    try {
      for (let retries = 0; !this.closed && sync.mode === 'awaiting-snapshot'; retries++) {
        this.snapshotAgain = false;
        if (!this.connected || this.nc === null) return; // the reconnect handler asks again
        try {
          const snapshot = await this.requestSnapshot(this.nc);
          if (this.closed) return;
          this.stats.snapshots++;
          const result = sync.loadSnapshot(snapshot);
          this.store.apply(result, true);
          if ((sync.mode as string) === 'live') {
            this.setStale(false);
            this.markReady('snapshot');
          }
        } catch (error) {
          if (this.closed) return;
          this.config.logger.warn('snapshot request failed; retrying', { error: String(error) });
        }
        if (sync.mode === 'awaiting-snapshot' && !this.snapshotAgain) {
          // A gap right after a snapshot means the snapshot lags the stream: give the responder time.
          await sleep(backoff(retries));
        }
      }
    } finally {
      this.snapshotInFlight = false;
    }
  }

  /**
   * The environment's snapshot in pages (`paged`: one bus request per page, each below max_payload, any size in
   * all), joined when every page is of one state; read again from the first page when the environment changed
   * meanwhile. A flags service too old to page (it refuses the field) is asked for the whole snapshot at once.
   */
  private async requestSnapshot(nc: NatsConnection): Promise<FlagSnapshot> {
    const environment = this.config.environment;
    // Queries are the raw query object (apps/flags README, "Queries"): an envelope is refused as unknown fields.
    const subject = this.subject(subjects.query('flags', 'snapshot'));
    const timeout = this.options.requestTimeoutMs ?? 5_000;
    const ask = async <Result>(query: object): Promise<Reply<Result>> => (await nc.request(subject, JSON.stringify(query), { timeout })).json<Reply<Result>>();
    let snapshot: FlagSnapshot;
    try {
      const paged = await readPagedSnapshot(
        async (query) => {
          const reply = await ask<FlagSnapshotPage>(query);
          if (!reply.ok) throw new SdkError('SDK.SNAPSHOT_FAILED', `${reply.error.code}: ${reply.error.message}`, { cause: reply.error });
          return reply.result;
        },
        environment,
        this.options.snapshotPageBytes === undefined ? {} : { pageBytes: this.options.snapshotPageBytes },
      );
      snapshot = paged.snapshot;
      this.stats.snapshotPages += paged.pages;
    } catch (error) {
      if (!(error instanceof SdkError && isUnknownField(error.cause, 'paged'))) throw error;
      const reply = await ask<FlagSnapshot>({ environment });
      if (!reply.ok) throw new SdkError('SDK.SNAPSHOT_FAILED', `${reply.error.code}: ${reply.error.message}`);
      snapshot = reply.result;
      this.stats.snapshotPages++;
    }
    if (snapshot.environment !== environment || !Array.isArray(snapshot.flags)) {
      throw new SdkError('SDK.SNAPSHOT_FAILED', `snapshot reply is not for ${environment}`);
    }
    return { ...snapshot, position: String(snapshot.position ?? '0'), segments: snapshot.segments ?? [] };
  }
}

/** A GENERIC.VALIDATION error naming `field` as not allowed: the responder predates it. */
function isUnknownField(error: unknown, field: string): boolean {
  const body = error as { code?: unknown; details?: { problems?: Array<{ path?: unknown }> } } | undefined;
  return body?.code === 'GENERIC.VALIDATION' && (body.details?.problems ?? []).some((problem) => problem.path === field);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
  });
}

/** User, password and inbox prefix for the connection the client opens itself. */
function loginOf(options: RollgateClientOptions): { user?: string; pass?: string; inboxPrefix?: string } {
  const credentials = options.credentials;
  const inboxPrefix = options.inboxPrefix ?? (credentials === undefined ? undefined : `_INBOX_${credentials.user}`);
  return {
    ...(credentials === undefined ? {} : { user: credentials.user, pass: credentials.password }),
    ...(inboxPrefix === undefined ? {} : { inboxPrefix }),
  };
}
