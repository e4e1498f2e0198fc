/**
 * Test-only stand-in for apps/flags: keeps a flag event history, publishes it into a private JetStream stream with
 * the outbox's wire shape, and answers snapshot queries from the same history. `publish: false` commits an event
 * without publishing it: the hole an SDK must detect.
 */
import { headers as natsHeaders, nuid, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  EVENT_HEADERS,
  evolveFlag,
  evolveSegment,
  okReply,
  type EventWire,
  type EventWireMetadata,
  type FlagDefinition,
  type FlagEvent,
  type FlagSnapshot,
  type FlagSnapshotPage,
  type Segment,
  type SegmentEvent,
} from '#rollgate/contracts';

export interface TestTopology {
  root: string;
  stream: string;
}

export const uniqueTopology = (): TestTopology => {
  const id = nuid.next().toLowerCase();
  return { root: `rgt${id}`, stream: `RG_T_${id.toUpperCase()}` };
};

export class FakeFlagsService {
  readonly history: EventWire[] = [];
  private readonly versions = new Map<string, number>();
  private sub: Subscription | null = null;
  /** Snapshot requests answered so far. */
  snapshotsServed = 0;

  constructor(
    private readonly nc: NatsConnection,
    readonly topology: TestTopology,
  ) {}

  static async start(nc: NatsConnection, topology = uniqueTopology()): Promise<FakeFlagsService> {
    const service = new FakeFlagsService(nc, topology);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: topology.stream, subjects: [`${topology.root}.evt.flags.>`], storage: 'file' as never });
    service.respond();
    return service;
  }

  /** (Re)binds the snapshot responder, e.g. on a new connection after a server restart. */
  respond(nc: NatsConnection = this.nc): void {
    this.sub?.unsubscribe();
    this.sub = nc.subscribe(`${this.topology.root}.qry.flags.snapshot`, {
      callback: (_err, msg) => {
        // As apps/flags takes queries: the raw query object, no envelope.
        const query = msg.json<{ environment: string; paged?: boolean; cursor?: string }>();
        this.snapshotsServed++;
        const whole = this.snapshot(query.environment);
        if (this.refusePaging && (query.paged !== undefined || query.cursor !== undefined)) {
          // As a flags service from before paging: the global pipe refuses the unknown field.
          msg.respond(JSON.stringify({ ok: false, error: { code: 'GENERIC.VALIDATION', message: 'property paged should not exist', details: { problems: [{ path: 'paged', message: 'unknown field' }] } } }));
          return;
        }
        if (query.paged !== true && query.cursor === undefined) {
          msg.respond(JSON.stringify(okReply(whole)));
          return;
        }
        this.pagesServed++;
        msg.respond(JSON.stringify(okReply(this.page(whole, query.cursor))));
      },
    });
  }

  /** Flags per snapshot page (as the flags service pages by bytes; all in one page by default). */
  flagsPerPage = Number.MAX_SAFE_INTEGER;
  pagesServed = 0;
  /** Answer paged requests as a service that predates paging. */
  refusePaging = false;

  /** One page as apps/flags pages: the segments first, then flags by key after the cursor's key. */
  private page(whole: FlagSnapshot, cursor: string | undefined): FlagSnapshotPage {
    const after = cursor?.startsWith('f.') ? cursor.slice(2) : undefined;
    const flags = [...whole.flags].sort((a, b) => (a.key < b.key ? -1 : 1)).filter((flag) => after === undefined || flag.key > after);
    const taken = flags.slice(0, this.flagsPerPage);
    return {
      environment: whole.environment,
      position: whole.position,
      revision: String(this.history.length),
      segments: after === undefined ? whole.segments : [],
      members: [],
      removedSegments: after === undefined ? (whole.removedSegments ?? []) : [],
      flags: taken,
      next: taken.length < flags.length ? `f.${taken[taken.length - 1]!.key}` : null,
    };
  }

  snapshot(environment: string, upTo = this.history.length): FlagSnapshot {
    const flags = new Map<string, FlagDefinition>();
    const segments = new Map<string, Segment | null>();
    const segmentVersions = new Map<string, number>();
    for (const e of this.history.slice(0, upTo)) {
      if (e.streamId.startsWith('flag-')) {
        const key = e.streamId.slice(5);
        const next = evolveFlag(flags.get(key) ?? null, e as unknown as FlagEvent, e.streamVersion);
        if (next !== null) flags.set(key, next);
      } else {
        const key = e.streamId.slice(8);
        segments.set(key, evolveSegment(segments.get(key) ?? null, e as unknown as SegmentEvent, e.streamVersion));
        segmentVersions.set(key, e.streamVersion);
      }
    }
    return {
      environment,
      position: upTo === 0 ? '0' : this.history[upTo - 1]!.globalPosition,
      flags: [...flags.values()],
      segments: [...segments.values()].filter((s): s is Segment => s !== null),
      removedSegments: [...segments].flatMap(([key, segment]) => (segment === null ? [{ key, version: segmentVersions.get(key)! }] : [])),
    };
  }

  async append(
    streamId: string,
    event: FlagEvent | SegmentEvent,
    metadata: EventWireMetadata = {},
    options: { publish?: boolean; nc?: NatsConnection } = {},
  ): Promise<EventWire> {
    const version = (this.versions.get(streamId) ?? 0) + 1;
    this.versions.set(streamId, version);
    const position = this.history.length + 1;
    const wire: EventWire = {
      type: event.type,
      data: event.data,
      metadata,
      streamId,
      streamVersion: version,
      eventId: nuid.next(),
      schemaVersion: 1,
      globalPosition: String(position),
      transactionId: String(1000 + position),
      recordedAt: new Date().toISOString(),
    };
    this.history.push(wire);
    if (options.publish !== false) await this.publish(wire, options.nc);
    return wire;
  }

  async publish(wire: EventWire, nc: NatsConnection = this.nc): Promise<void> {
    const dash = wire.streamId.indexOf('-');
    const subject = `${this.topology.root}.evt.flags.${wire.streamId.slice(0, dash)}.${wire.streamId.slice(dash + 1)}.${wire.type}`;
    const h = natsHeaders();
    h.set(EVENT_HEADERS.eventType, wire.type);
    h.set(EVENT_HEADERS.streamId, wire.streamId);
    h.set(EVENT_HEADERS.streamVersion, String(wire.streamVersion));
    h.set(EVENT_HEADERS.globalPosition, wire.globalPosition);
    h.set(EVENT_HEADERS.transactionId, wire.transactionId);
    h.set(EVENT_HEADERS.recordedAt, wire.recordedAt);
    await jetstream(nc).publish(subject, JSON.stringify(wire), { msgID: wire.eventId, headers: h });
  }

  async stop(nc: NatsConnection = this.nc): Promise<void> {
    this.sub?.unsubscribe();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(this.topology.stream).catch(() => undefined);
  }
}

export const booleanFlag = (key: string, environment: string, enabled: boolean): FlagEvent => ({
  type: 'FlagCreated',
  data: { flag: { key, name: key, type: 'boolean', environments: { [environment]: { enabled, defaultRollout: { type: 'all_users' } } } } },
});

export const toggle = (environment: string, enabled: boolean): FlagEvent => ({ type: 'FlagToggled', data: { environment, enabled } });

/** Polls until `check` holds; fails with `what` after `timeoutMs`. Tests never assert how long it took. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
