import type { JetStreamClient, JetStreamManager, PubAck, StoredMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core';
import type { ServiceName } from '#rollgate/contracts';
import {
  START,
  type AllPosition,
  type CheckpointStore,
  type EventStore,
  type LeaderElection,
  type LeaderLease,
  type RecordedEvent,
} from '#rollgate/event-store';
import { HeldBackBackoff, WakeableLoop } from '#rollgate/platform';
import { encodeEvent, eventSubject, readEventHeaders } from './event-message.js';
import { eventStreamTarget, streamFilter, type EventStreamTarget } from './event-stream.js';

/** Hooks for the service's metrics registry; all optional. */
export interface PublisherMetrics {
  /** `count` events were stored in the stream (duplicates included). */
  published?(count: number): void;
  /** Seconds from the newest published event's commit to its ack: the outbox lag. */
  lagSeconds?(seconds: number): void;
  leader?(isLeader: boolean): void;
  /**
   * `count` messages in the stream were skipped as not the publisher's own: no Rollgate headers, or headers naming
   * an event the store does not hold (forged). Each stream message is counted once per publisher instance.
   */
  foreign?(count: number): void;
  /** `count` stored events were parked: too large for the server's max_payload, so never published (logged each). */
  parked?(count: number): void;
}

export interface PublisherLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface EventPublisherOptions {
  service: ServiceName;
  store: EventStore & CheckpointStore;
  leaderElection: LeaderElection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Stream name and subject root overrides (tests); defaults `RG_EVT_<SERVICE>` and `rg.evt`. */
  target?: { stream?: string; subjectRoot?: string };
  /** Advisory-lock name and checkpoint name; `publisher:jetstream` by default. */
  name?: string;
  batchSize?: number;
  /** Poll interval when the store had nothing new; `wake()` cuts it short. */
  pollIntervalMs?: number;
  /** Retry interval while another replica holds the lease, and after errors. */
  leaderRetryMs?: number;
  /**
   * 'sequential' awaits each ack. 'pipelined' keeps up to `window` publishes in flight, each guarded by
   * `expect.lastMsgID` = the previous event id, so the server rejects anything out of sequence and the
   * publisher re-reconciles (research §4.1 step 5).
   */
  mode?: 'sequential' | 'pipelined';
  window?: number;
  metrics?: PublisherMetrics;
  logger?: PublisherLogger;
  /**
   * The server's max_payload; by default read from the JetStream client's connection (`nc.info`). An event whose
   * message would exceed it is parked rather than published (the command core refuses such events; only an older or
   * foreign row gets here).
   */
  maxPayload?: () => number | undefined;
}

/** Room for the headers JetStream's publish adds (Nats-Msg-Id, Nats-Expected-Stream, Nats-Expected-Last-Msg-Id). */
const PUBLISH_HEADER_ALLOWANCE = 256;

interface Resume {
  position: AllPosition;
  /** Nats-Msg-Id of the stream's last message: the `expect.lastMsgID` of the next publish. */
  lastMsgId: string | undefined;
  /** The checkpoint row as stored, the `from` of the next compare-and-set. */
  checkpoint: AllPosition;
}

const comparePositions = (a: AllPosition, b: AllPosition): number =>
  a.transactionId !== b.transactionId
    ? a.transactionId < b.transactionId ? -1 : 1
    : a.globalPosition === b.globalPosition ? 0 : a.globalPosition < b.globalPosition ? -1 : 1;

class LeadershipLost extends Error {}

/**
 * Moves committed events from the store (the outbox) to the service's JetStream stream, in the store's
 * gap-free order, exactly once per stream message. One replica leads (advisory lock); on taking the lead it
 * resumes after the last message the stream actually holds, so neither a crash between publish and checkpoint
 * (stream ahead) nor acked-but-lost JetStream writes (stream behind) duplicate or drop an event.
 */
export class EventPublisher {
  readonly target: EventStreamTarget;
  private readonly name: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly leaderRetryMs: number;
  private readonly window: number;
  private readonly logger: PublisherLogger;
  private readonly loop: WakeableLoop;
  private leading = false;
  private recheckRequested = false;
  private position: AllPosition = START;
  /** The newest event a `wake` said was committed: until it is published, an empty read is retried soon. */
  private awaited: AllPosition = START;
  private readonly backoff: HeldBackBackoff;
  private publishedTotal = 0;
  private parkedTotal = 0;
  /** Stream sequences up to this one were already counted as foreign (or are the publisher's own). */
  private foreignCountedThrough = 0;

  constructor(private readonly options: EventPublisherOptions) {
    this.target = eventStreamTarget(options.service, options.target);
    this.name = options.name ?? 'publisher:jetstream';
    this.batchSize = options.batchSize ?? 256;
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.leaderRetryMs = options.leaderRetryMs ?? 2000;
    this.window = options.mode === 'pipelined' ? Math.max(1, options.window ?? 128) : 1;
    this.backoff = new HeldBackBackoff(this.pollIntervalMs);
    this.logger = options.logger ?? console;
    this.loop = new WakeableLoop(() => this.leadOnce(), {
      errorDelayMs: this.leaderRetryMs,
      onError: (err) => this.logger.error(`${this.name}: ${describe(err)}`),
    });
  }

  /** Starts the leader loop in the background; resolves at once. */
  start(): void {
    this.loop.start();
  }

  /** Stops after the in-flight batch; releases the lease. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /**
   * Skips the rest of the current poll wait (call after an append for the lowest latency). With the appended
   * position, an empty read is retried within milliseconds until that event is published: a concurrent transaction
   * elsewhere can hold a committed event back from the "$all" reader for a moment (ADR 0003).
   */
  wake(committed?: AllPosition): void {
    if (committed !== undefined && comparePositions(committed, this.awaited) > 0) this.awaited = committed;
    this.loop.wake();
  }

  /**
   * After a NATS (or database) reconnect: the leader stops after its in-flight window, asks the database whether
   * its lease still holds, and resumes from what the stream holds, or steps down. A standby ignores it.
   */
  recheckLeadership(): void {
    if (!this.leading) return;
    this.recheckRequested = true;
    this.loop.wake();
  }

  status(): { leader: boolean; position: AllPosition; published: number; parked: number } {
    return { leader: this.leading, position: this.position, published: this.publishedTotal, parked: this.parkedTotal };
  }

  /** One turn of the loop: lead for as long as the lease holds, or wait and try again when another replica leads. */
  private async leadOnce(): Promise<number> {
    let lease: LeaderLease | null = null;
    try {
      lease = await this.options.leaderElection.tryAcquire(this.name);
    } catch (err) {
      this.logger.error(`${this.name}: leader election failed: ${describe(err)}`);
    }
    if (!lease) return this.leaderRetryMs;
    this.setLeading(true);
    try {
      await this.lead(lease);
    } finally {
      this.setLeading(false);
      await lease.release().catch((err: unknown) => this.logger.warn(`${this.name}: release: ${describe(err)}`));
    }
    return 0;
  }

  private async lead(lease: LeaderLease): Promise<void> {
    let lost = false;
    void lease.lost.then(() => {
      lost = true;
      this.loop.wake();
    });
    const active = (): boolean => this.loop.isRunning && !lost && !this.recheckRequested;
    // After a rejected lastMsgID whose reconcile shows the stream did not move, the server's last-msg-id memory
    // is stale (e.g. after a server restart): publish the next event once without the expectation.
    let staleLastMsgId: string | undefined;
    for (;;) {
      if (this.recheckRequested) {
        this.recheckRequested = false;
        if (!(await lease.verify())) {
          this.logger.warn(`${this.name}: lease lost across a reconnect; stepping down`);
          return;
        }
        this.logger.log(`${this.name}: lease holds after a reconnect; resuming from the stream`);
      }
      if (!active()) return;
      let resume: Resume;
      try {
        resume = await this.reconcile();
      } catch (err) {
        this.logger.error(`${this.name}: reconcile failed: ${describe(err)}`);
        await this.sleep(this.leaderRetryMs);
        continue;
      }
      this.position = resume.position;
      const skipExpectFor = staleLastMsgId !== undefined && staleLastMsgId === resume.lastMsgId ? staleLastMsgId : undefined;
      staleLastMsgId = undefined;
      try {
        await this.publishFrom(resume, active, skipExpectFor);
        if (!this.recheckRequested) return; // stopped or lost
      } catch (err) {
        if (err instanceof LeadershipLost) {
          this.logger.warn(`${this.name}: checkpoint moved by another runner; stepping down`);
          return;
        }
        if (isWrongLastMsgId(err)) staleLastMsgId = resume.lastMsgId;
        this.logger.warn(`${this.name}: publish failed, reconciling: ${describe(err)}`);
        if (!isWrongLastMsgId(err)) await this.sleep(Math.min(this.leaderRetryMs, 500));
      }
    }
  }

  /**
   * The start point is the last message in the stream that this publisher wrote; the checkpoint only when the stream
   * holds none. Anyone who can publish into the stream can add messages, so the walk goes back by sequence from the
   * last one and trusts a message only when its headers name an event the store holds (same event id, stream
   * version and position). Everything passed over on the way is foreign: counted, logged, never resumed from.
   */
  private async reconcile(): Promise<Resume> {
    const checkpoint = await this.options.store.loadCheckpoint(this.name);
    const { jsm } = this.options;
    const stream = this.target.stream;
    const last = await jsm.streams.getMessage(stream, { last_by_subj: streamFilter(this.target) });
    if (!last) return { position: checkpoint, lastMsgId: undefined, checkpoint };
    const foreign = { count: 0, lo: Infinity, hi: 0 };
    let own: Resume | null = null;
    let firstSeq: number | undefined;
    for (let seq = last.seq, msg: StoredMsg | null = last; ; ) {
      if (msg) {
        own = await this.ownMessage(msg, checkpoint);
        if (own) break;
        if (msg.seq > this.foreignCountedThrough) {
          foreign.count++;
          foreign.lo = Math.min(foreign.lo, msg.seq);
          foreign.hi = Math.max(foreign.hi, msg.seq);
        }
      }
      firstSeq ??= (await jsm.streams.info(stream)).state.first_seq;
      if (--seq < Math.max(1, firstSeq)) break;
      msg = await jsm.streams.getMessage(stream, { seq });
    }
    this.reportForeign(foreign);
    return own ?? { position: checkpoint, lastMsgId: undefined, checkpoint };
  }

  /** The resume point after `msg` when it is a message this publisher wrote for an event the store holds. */
  private async ownMessage(msg: StoredMsg, checkpoint: AllPosition): Promise<Resume | null> {
    const claim = readEventHeaders(msg);
    if (!claim) return null;
    const [stored] = await this.options.store.readStream(claim.streamId, {
      fromVersion: claim.streamVersion,
      toVersion: claim.streamVersion,
    });
    if (
      !stored ||
      stored.eventId !== claim.eventId ||
      stored.transactionId !== claim.transactionId ||
      stored.globalPosition !== claim.globalPosition
    ) {
      return null;
    }
    return {
      position: { transactionId: stored.transactionId, globalPosition: stored.globalPosition },
      lastMsgId: stored.eventId,
      checkpoint,
    };
  }

  private reportForeign({ count, lo, hi }: { count: number; lo: number; hi: number }): void {
    if (count === 0) return;
    this.foreignCountedThrough = Math.max(this.foreignCountedThrough, hi);
    this.options.metrics?.foreign?.(count);
    this.logger.warn(
      `${this.name}: skipped ${count} foreign message(s) in ${this.target.stream} ` +
        `(seq ${lo === hi ? lo : `${lo}..${hi}`}): no Rollgate headers, or an event the store does not hold`,
    );
  }

  private async publishFrom(resume: Resume, active: () => boolean, skipExpectFor: string | undefined): Promise<void> {
    let { position, lastMsgId, checkpoint } = resume;
    let skipExpect = skipExpectFor;
    while (active()) {
      const batch = await this.options.store.readAll(position, this.batchSize);
      if (batch.length === 0) {
        // Resumed from the stream past the checkpoint (a crash between publish and checkpoint): record it now, not
        // only after the next event.
        checkpoint = await this.advance(checkpoint, position);
        await this.sleep(this.backoff.pause(comparePositions(position, this.awaited) < 0));
        continue;
      }
      this.backoff.reset();
      for (let i = 0; i < batch.length && active(); i += this.window) {
        const slice = batch.slice(i, i + this.window);
        const publishable = this.withoutOversized(slice);
        if (publishable.length > 0) {
          const firstExpect = skipExpect !== undefined && skipExpect === lastMsgId ? undefined : lastMsgId;
          skipExpect = undefined;
          await this.publishWindow(publishable, firstExpect, lastMsgId);
          // The chain of expected ids runs through published messages only: a parked event is not in the stream.
          lastMsgId = publishable[publishable.length - 1]!.eventId;
        }
        // Past the parked ones too, so an unpublishable row never holds the outbox up.
        const newest = slice[slice.length - 1]!;
        position = { transactionId: newest.transactionId, globalPosition: newest.globalPosition };
        this.position = position;
        this.publishedTotal += publishable.length;
        this.options.metrics?.published?.(publishable.length);
        this.options.metrics?.lagSeconds?.(Math.max(0, (Date.now() - newest.recordedAt.getTime()) / 1000));
      }
      checkpoint = await this.advance(checkpoint, position);
    }
  }

  /** The checkpoint only matters when the stream is empty (new or rebuilt); it never moves backwards. */
  private async advance(checkpoint: AllPosition, position: AllPosition): Promise<AllPosition> {
    if (comparePositions(position, checkpoint) <= 0) return checkpoint;
    if (!(await this.options.store.advanceCheckpoint(this.name, checkpoint, position))) throw new LeadershipLost();
    return position;
  }

  /**
   * The events whose message fits the server's max_payload. The others are parked: logged, counted, never tried
   * (NATS refuses them, and retrying would hold up every later event). Subscribers see a gap in that stream's
   * versions and re-snapshot, so they still end at the service's state.
   */
  private withoutOversized(events: readonly RecordedEvent[]): RecordedEvent[] {
    const maxPayload = this.maxPayload();
    if (maxPayload === undefined) return [...events];
    const fitting: RecordedEvent[] = [];
    for (const event of events) {
      const { body, headers } = encodeEvent(event);
      const bytes = Buffer.byteLength(body) + headerBytes(headers) + PUBLISH_HEADER_ALLOWANCE;
      if (bytes <= maxPayload) {
        fitting.push(event);
        continue;
      }
      this.parkedTotal++;
      this.options.metrics?.parked?.(1);
      this.logger.error(
        `${this.name}: parked event ${event.eventId} (${event.streamId} v${event.streamVersion} ${event.type}, ` +
          `position ${event.globalPosition}): ${bytes} bytes exceed the server's max_payload of ${maxPayload}; not published`,
      );
    }
    return fitting;
  }

  private maxPayload(): number | undefined {
    if (this.options.maxPayload !== undefined) return this.options.maxPayload();
    return (this.options.js as unknown as { nc?: { info?: { max_payload?: number } } }).nc?.info?.max_payload;
  }

  /** Publishes in order; each message but the first expects its predecessor as the stream's last msg id. */
  private async publishWindow(events: RecordedEvent[], firstExpect: string | undefined, previousId: string | undefined): Promise<void> {
    const acks: Promise<PubAck>[] = [];
    let prev = previousId;
    events.forEach((event, idx) => {
      const expectLast = idx === 0 ? firstExpect : prev;
      acks.push(this.publishOne(event, expectLast));
      prev = event.eventId;
    });
    const results = await Promise.allSettled(acks);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private publishOne(event: RecordedEvent, expectLastMsgId: string | undefined): Promise<PubAck> {
    const { body, headers } = encodeEvent(event);
    return this.options.js.publish(eventSubject(this.target, event), body, {
      msgID: event.eventId,
      headers: headers as MsgHdrs,
      expect: expectLastMsgId === undefined
        ? { streamName: this.target.stream }
        : { streamName: this.target.stream, lastMsgID: expectLastMsgId },
    });
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.options.metrics?.leader?.(leading);
  }

  private sleep(ms: number): Promise<void> {
    return this.loop.sleep(ms);
  }
}

/** The size of headers on the wire: `NATS/1.0\r\n`, one `Name: value\r\n` per value, and a closing `\r\n`. */
function headerBytes(headers: MsgHdrs): number {
  let bytes = 'NATS/1.0\r\n\r\n'.length;
  for (const [name, values] of headers) for (const value of values) bytes += Buffer.byteLength(`${name}: ${value}\r\n`);
  return bytes;
}

function isWrongLastMsgId(err: unknown): boolean {
  return err instanceof Error && /wrong last msg ?id/i.test(err.message);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
