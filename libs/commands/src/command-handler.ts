import {
  CommandIdReusedError,
  VersionConflictError,
  type AllPosition,
  type AppliedCommand,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type NewEvent,
  type PgAppendManyOptions,
  type PgAppendOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SqlClient,
  type StreamAppend,
} from '#rollgate/event-store';
import { currentCorrelationId, httpStatusOf, RollgateError } from '#rollgate/platform';
import { applyDecided, foldEvents, streamIdOf, type AggregateType, type DomainEvent, type Folded } from './aggregate.js';
import {
  BulkCommandError,
  CommandIdConflictError,
  duplicateInBulk,
  EventTooLargeError,
  IdempotencyKeyReusedError,
  StreamVersionConflictError,
} from './command.errors.js';
import { DEFAULT_MAX_EVENT_BYTES, eventWireBytes } from './event-size.js';
import { FoldedCache } from './folded-cache.js';
import { requestHashOf } from './request-hash.js';
import { jitteredRetry, type RetryPolicy } from './retry-policy.js';

/** The store as the command path uses it: the port, plus the Postgres store's in-transaction hook. */
export interface CommandStore extends EventStore {
  append(streamId: string, events: readonly NewEvent[], options: PgAppendOptions): Promise<AppendResult>;
  appendMany(parts: readonly StreamAppend[], options?: PgAppendManyOptions): Promise<AppendResult[]>;
}

/** Who sent a command and why: lands in every event's metadata. */
export interface CommandOrigin {
  commandId: string;
  actor: string;
  reason?: string;
  correlationId?: string;
  /** The caller's fingerprint of the request; by default the command's own (`requestHashOf`). */
  requestHash?: string;
}

export interface CommandRequest<Command> {
  origin: CommandOrigin;
  /** The stream key (`auto_submit_enabled` of `flag-auto_submit_enabled`). */
  key: string;
  /** Recorded in es.commands with the command id; part of the request fingerprint. */
  commandType: string;
  /** The payload; its canonical JSON (with the type) is the request fingerprint bound to the command id. */
  command: Command;
  /** A version the caller pinned (HTTP If-Match): no retry, a conflict is the answer. */
  expectedVersion?: number;
}

/** Decides a command against the current state; may load what it needs (segments, a past state). */
export type Decide<State, Command, Event> = (command: Command, state: State) => Event[] | Promise<Event[]>;

export interface CommandOutcome<State> {
  key: string;
  streamId: string;
  state: State;
  version: number;
  /** Global position of the first event appended (or originally appended, for a duplicate). */
  position: bigint;
  /** The command id had been applied before: nothing new was appended, `state` is as it left it. */
  duplicate: boolean;
  /** Events this call appended: 0 for a duplicate or a no-op. */
  appended: number;
}

export interface LoadedStream<State> extends Folded<State> {
  /** Global position of the last event read, 0n for none. */
  position: bigint;
  /** The events read: the whole stream for `load`, only those after the kept fold for `loadLatest`. */
  events: RecordedEvent[];
}

/** How a command ended, for metrics: `noop` decided no events, `rejected` is a 4xx answer, `failed` anything else. */
export type CommandResult = 'applied' | 'noop' | 'duplicate' | 'conflict' | 'rejected' | 'failed';

/** Hooks for the service's metrics registry; all optional. */
export interface CommandMetrics {
  handled?(commandType: string, result: CommandResult, seconds: number): void;
  /** One committed append of `events` events that took `seconds` (the transaction, inline projection included). */
  appended?(events: number, seconds: number): void;
  /** An append lost a version race and the command is decided again. */
  retried?(commandType: string): void;
}

export interface CommandHandlerOptions {
  store: CommandStore;
  metrics?: CommandMetrics;
  retry?: RetryPolicy;
  /** A read model written in the append's transaction (read-your-writes); Postgres store only. */
  inline?: (events: readonly RecordedEvent[], tx: SqlClient) => Promise<void>;
  /** Awaited after the commit with the last appended position (e.g. until local evaluation engines applied it). */
  afterCommit?: (last: AllPosition) => Promise<unknown>;
  /**
   * The most one event may take on the bus once published (`eventWireBytes`), below NATS max_payload; default
   * DEFAULT_MAX_EVENT_BYTES. A command deciding a larger event is refused with `<AREA>.EVENT_TOO_LARGE`.
   */
  maxEventBytes?: number;
  /** How many streams' latest folds are kept to decide on without rereading them (FoldedCache); default 64, 0 for none. */
  foldedStreams?: number;
}

/**
 * The command path of every service: load the stream, fold it, decide, append the decided events as one batch
 * with the expected version and the command id, retry a lost version race by the policy. A repeated command id
 * answers what it did the first time (`duplicate`) without deciding again; the id of another stream's command is
 * a `<AREA>.COMMAND_ID_CONFLICT`, and the id of another request on the same stream (its fingerprint, command type
 * plus canonical JSON of the command, differs from the one stored with the id) is a `<AREA>.IDEMPOTENCY_KEY_REUSED`.
 * Every decided event must fit the bus as the outbox will publish it (`maxEventBytes`): a command with one that
 * would not is a `<AREA>.EVENT_TOO_LARGE` before anything is appended, so the log never holds an unpublishable event.
 */
export class CommandHandler {
  private readonly retry: RetryPolicy;
  private readonly committed: Array<(last: AllPosition | undefined) => void> = [];
  private readonly folded: FoldedCache;
  readonly maxEventBytes: number;

  constructor(private readonly options: CommandHandlerOptions) {
    this.retry = options.retry ?? jitteredRetry();
    this.folded = new FoldedCache(options.foldedStreams ?? 64);
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  /**
   * Called right after every append that committed events, with the last one's position when the store reported it
   * (the Postgres store does): the outbox publisher wakes on it and knows what to expect.
   */
  onCommitted(listener: (last: AllPosition | undefined) => void): void {
    this.committed.push(listener);
  }

  /** A stream's state, optionally as of a version, a position or a time. */
  async load<State, Event extends DomainEvent>(
    aggregate: AggregateType<State, Event>,
    key: string,
    options?: ReadStreamOptions,
  ): Promise<LoadedStream<State>> {
    const events = await this.options.store.readStream(streamIdOf(aggregate, key), options);
    const folded = foldEvents(aggregate, events);
    return { ...folded, position: events.length === 0 ? 0n : events[events.length - 1]!.globalPosition, events };
  }

  /**
   * A stream's current state, version and last position, without its events: from the fold kept of the stream
   * (reading only the events after it) when there is one. What `handle` decides on.
   */
  async loadLatest<State, Event extends DomainEvent>(aggregate: AggregateType<State, Event>, key: string): Promise<LoadedStream<State>> {
    const streamId = streamIdOf(aggregate, key);
    const cached = this.folded.get(aggregate, streamId);
    const events = await this.options.store.readStream(streamId, cached === undefined ? undefined : { fromVersion: cached.version + 1 });
    const folded = foldEvents(aggregate, events, cached);
    const position = events.length === 0 ? (cached?.position ?? 0n) : events[events.length - 1]!.globalPosition;
    this.folded.put(aggregate, streamId, { ...folded, position });
    return { ...folded, position, events };
  }

  async handle<State, Event extends DomainEvent, Command>(
    aggregate: AggregateType<State, Event>,
    decide: Decide<State, Command, Event>,
    request: CommandRequest<Command>,
  ): Promise<CommandOutcome<State>> {
    const metrics = this.options.metrics;
    if (metrics?.handled === undefined) return this.decideAndAppend(aggregate, decide, request);
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const outcome = await this.decideAndAppend(aggregate, decide, request);
      metrics.handled(request.commandType, outcome.duplicate ? 'duplicate' : outcome.appended === 0 ? 'noop' : 'applied', seconds());
      return outcome;
    } catch (error) {
      metrics.handled(request.commandType, resultOf(error), seconds());
      throw error;
    }
  }

  private async decideAndAppend<State, Event extends DomainEvent, Command>(
    aggregate: AggregateType<State, Event>,
    decide: Decide<State, Command, Event>,
    request: CommandRequest<Command>,
  ): Promise<CommandOutcome<State>> {
    const streamId = streamIdOf(aggregate, request.key);
    const requestHash = request.origin.requestHash ?? requestHashOf(request.commandType, request.command);
    const earlier = await this.options.store.findCommand(request.origin.commandId);
    if (earlier) return this.duplicateOf(aggregate, request, requestHash, earlier);
    const metadata = metadataOf(request.origin);
    for (let attempt = 1; ; attempt++) {
      const current = await this.loadLatest(aggregate, request.key);
      if (request.expectedVersion !== undefined && request.expectedVersion !== current.version) {
        throw new StreamVersionConflictError(aggregate.area, streamId, request.expectedVersion, current.version);
      }
      const events = await decide(request.command, current.state);
      if (events.length === 0) {
        return { key: request.key, streamId, state: current.state, version: current.version, position: current.position, duplicate: false, appended: 0 };
      }
      this.assertFitsTheBus(aggregate, streamId, events, metadata);
      try {
        return await this.append(aggregate, request, requestHash, current, events, metadata);
      } catch (error) {
        if (error instanceof CommandIdReusedError) throw new CommandIdConflictError(aggregate.area, request.origin.commandId, error.originalStreamId);
        if (!(error instanceof VersionConflictError)) throw error;
        if (request.expectedVersion !== undefined || attempt >= this.retry.maxAttempts) {
          throw new StreamVersionConflictError(aggregate.area, streamId, request.expectedVersion ?? current.version, undefined, error);
        }
        this.options.metrics?.retried?.(request.commandType);
        await new Promise((resolve) => setTimeout(resolve, this.retry.delayMs(attempt)));
      }
    }
  }

  /**
   * Many commands on as many streams of one aggregate (a flags bulk command), decided each against its own stream
   * and appended together in one transaction (`appendMany`): all of them or none. Each request keeps its own command
   * id, fingerprint and optional pinned version, so a request applied before (alone or in an earlier bulk) answers as
   * a duplicate exactly as `handle` would, and a bulk resent after a crash appends only what did not commit. A lost
   * version race on any stream decides the rest again, by the retry policy. Outcomes in the order of `requests`.
   */
  async handleMany<State, Event extends DomainEvent, Command>(
    aggregate: AggregateType<State, Event>,
    decide: Decide<State, Command, Event>,
    requests: readonly CommandRequest<Command>[],
  ): Promise<CommandOutcome<State>[]> {
    assertOneRequestPerStream(requests);
    const hashes = requests.map((request) => request.origin.requestHash ?? requestHashOf(request.commandType, request.command));
    const outcomes: Array<CommandOutcome<State> | undefined> = new Array(requests.length);
    for (let attempt = 1; ; attempt++) {
      const open = requests.flatMap((request, i) => (outcomes[i] === undefined ? [i] : []));
      const applied = await this.options.store.findCommands(open.map((i) => requests[i]!.origin.commandId));
      const duplicates = open.filter((i) => applied.has(requests[i]!.origin.commandId));
      const dupOutcomes = await this.duplicatesOf(aggregate, duplicates.map((i) => ({ request: requests[i]!, hash: hashes[i]!, earlier: applied.get(requests[i]!.origin.commandId)! })));
      duplicates.forEach((i, n) => (outcomes[i] = dupOutcomes[n]));
      const toDecide = open.filter((i) => !applied.has(requests[i]!.origin.commandId));
      if (toDecide.length === 0) return outcomes as CommandOutcome<State>[];
      const current = await this.loadMany(aggregate, toDecide.map((i) => requests[i]!.key));
      const decided: Array<{ i: number; loaded: LoadedStream<State>; events: Event[]; metadata: EventMetadata }> = [];
      for (const [n, i] of toDecide.entries()) {
        const request = requests[i]!;
        const loaded = current[n]!;
        const streamId = streamIdOf(aggregate, request.key);
        if (request.expectedVersion !== undefined && request.expectedVersion !== loaded.version) {
          throw new StreamVersionConflictError(aggregate.area, streamId, request.expectedVersion, loaded.version);
        }
        const events = await decide(request.command, loaded.state);
        const metadata = metadataOf(request.origin);
        if (events.length === 0) {
          outcomes[i] = { key: request.key, streamId, state: loaded.state, version: loaded.version, position: loaded.position, duplicate: false, appended: 0 };
          continue;
        }
        this.assertFitsTheBus(aggregate, streamId, events, metadata);
        decided.push({ i, loaded, events, metadata });
      }
      if (decided.length === 0) return outcomes as CommandOutcome<State>[];
      try {
        const results = await this.appendDecided(aggregate, requests, hashes, decided);
        decided.forEach(({ i, loaded, events }, n) => {
          const request = requests[i]!;
          const next = applyDecided(aggregate, loaded, events);
          const result = results[n]!;
          outcomes[i] = { key: request.key, streamId: result.streamId, state: next.state, version: result.nextVersion, position: result.firstPosition, duplicate: false, appended: events.length };
        });
        return outcomes as CommandOutcome<State>[];
      } catch (error) {
        if (error instanceof CommandIdReusedError) throw new CommandIdConflictError(aggregate.area, String((error.details as { commandId: string }).commandId), error.originalStreamId);
        if (!(error instanceof VersionConflictError)) throw error;
        // A pinned version is the caller's answer; otherwise another writer (or a concurrent duplicate) won: again.
        const pinned = decided.find(({ i }) => requests[i]!.expectedVersion !== undefined);
        if (pinned !== undefined || attempt >= this.retry.maxAttempts) {
          throw new BulkCommandError(aggregate.area, decided.length, attempt, error);
        }
        for (const { i } of decided) outcomes[i] = undefined;
        await new Promise((resolve) => setTimeout(resolve, this.retry.delayMs(attempt)));
      }
    }
  }

  private async loadMany<State, Event extends DomainEvent>(aggregate: AggregateType<State, Event>, keys: readonly string[]): Promise<LoadedStream<State>[]> {
    const streams = await this.options.store.readStreams(keys.map((key) => streamIdOf(aggregate, key)));
    return keys.map((key) => {
      const events = streams.get(streamIdOf(aggregate, key)) ?? [];
      return { ...foldEvents(aggregate, events), position: events.length === 0 ? 0n : events[events.length - 1]!.globalPosition, events };
    });
  }

  private async appendDecided<State, Event extends DomainEvent, Command>(
    aggregate: AggregateType<State, Event>,
    requests: readonly CommandRequest<Command>[],
    hashes: readonly string[],
    decided: ReadonlyArray<{ i: number; loaded: LoadedStream<State>; events: Event[]; metadata: EventMetadata }>,
  ): Promise<AppendResult[]> {
    let last: AllPosition | undefined;
    const started = process.hrtime.bigint();
    const results = await this.options.store.appendMany(
      decided.map(({ i, loaded, events, metadata }) => ({
        streamId: streamIdOf(aggregate, requests[i]!.key),
        events: events.map((event) => ({ type: event.type, data: event.data, metadata })),
        expectedVersion: loaded.version === 0 ? ('no_stream' as const) : loaded.version,
        commandId: requests[i]!.origin.commandId,
        commandType: requests[i]!.commandType,
        requestHash: hashes[i]!,
      })),
      {
        // Looked up just before deciding; one applied since is caught by the transaction and retried.
        commandIdsLookedUp: true,
        beforeCommit: async (appended, tx) => {
          await this.options.inline?.(appended, tx);
          const tail = appended[appended.length - 1]!;
          last = { transactionId: tail.transactionId, globalPosition: tail.globalPosition };
        },
      },
    );
    const appended = decided.reduce((n, { events }) => n + events.length, 0);
    this.options.metrics?.appended?.(appended, Number(process.hrtime.bigint() - started) / 1e9);
    for (const listener of this.committed) listener(last);
    if (last !== undefined) await this.options.afterCommit?.(last);
    return results;
  }

  private async duplicatesOf<State, Event extends DomainEvent, Command>(
    aggregate: AggregateType<State, Event>,
    items: ReadonlyArray<{ request: CommandRequest<Command>; hash: string; earlier: AppliedCommand }>,
  ): Promise<CommandOutcome<State>[]> {
    if (items.length === 0) return [];
    for (const { request, hash, earlier } of items) {
      const streamId = streamIdOf(aggregate, request.key);
      if (earlier.streamId !== streamId) throw new CommandIdConflictError(aggregate.area, request.origin.commandId, earlier.streamId);
      if (earlier.requestHash !== null && earlier.requestHash !== hash) {
        throw new IdempotencyKeyReusedError(aggregate.area, request.origin.commandId, streamId, request.commandType);
      }
    }
    const loaded = await this.loadMany(aggregate, items.map(({ request }) => request.key));
    return items.map(({ request, earlier }, n) => {
      const then = foldEvents(aggregate, loaded[n]!.events.filter((event) => event.streamVersion <= earlier.version));
      return { key: request.key, streamId: earlier.streamId, state: then.state, version: earlier.version, position: earlier.position, duplicate: true, appended: 0 };
    });
  }

  /** Every event of the batch, as the outbox will publish it, within `maxEventBytes`; checked before the append. */
  private assertFitsTheBus(aggregate: { area: string }, streamId: string, events: readonly DomainEvent[], metadata: EventMetadata): void {
    for (const event of events) {
      const bytes = eventWireBytes(streamId, { type: event.type, data: event.data, metadata });
      if (bytes > this.maxEventBytes) throw new EventTooLargeError(aggregate.area, streamId, event.type, bytes, this.maxEventBytes);
    }
  }

  private async append<State, Event extends DomainEvent, Command>(
    aggregate: AggregateType<State, Event>,
    request: CommandRequest<Command>,
    requestHash: string,
    current: LoadedStream<State>,
    events: readonly Event[],
    metadata: EventMetadata,
  ): Promise<CommandOutcome<State>> {
    const streamId = streamIdOf(aggregate, request.key);
    let last: AllPosition | undefined;
    const started = process.hrtime.bigint();
    const result = await this.options.store.append(
      streamId,
      events.map((event) => ({ type: event.type, data: event.data, metadata })),
      {
        expectedVersion: current.version === 0 ? 'no_stream' : current.version,
        commandId: request.origin.commandId,
        // `handle` looked it up before deciding; a duplicate since then is caught in the append's transaction.
        commandIdLookedUp: true,
        commandType: request.commandType,
        requestHash,
        beforeCommit: async (appended, tx) => {
          await this.options.inline?.(appended, tx);
          const tail = appended[appended.length - 1]!;
          last = { transactionId: tail.transactionId, globalPosition: tail.globalPosition };
        },
      },
    );
    if (result.duplicate) {
      // A concurrent request with this id won the race: compare against what it recorded.
      const earlier = (await this.options.store.findCommand(request.origin.commandId)) ?? {
        streamId: result.streamId,
        version: result.nextVersion,
        position: result.firstPosition,
        requestHash: null,
      };
      return this.duplicateOf(aggregate, request, requestHash, earlier);
    }
    this.options.metrics?.appended?.(events.length, Number(process.hrtime.bigint() - started) / 1e9);
    for (const listener of this.committed) listener(last);
    if (last !== undefined) await this.options.afterCommit?.(last);
    const next = applyDecided(aggregate, current, events);
    return { key: request.key, streamId, state: next.state, version: result.nextVersion, position: result.firstPosition, duplicate: false, appended: events.length };
  }

  private async duplicateOf<State, Event extends DomainEvent, Command>(
    aggregate: AggregateType<State, Event>,
    request: CommandRequest<Command>,
    requestHash: string,
    earlier: AppliedCommand,
  ): Promise<CommandOutcome<State>> {
    const streamId = streamIdOf(aggregate, request.key);
    if (earlier.streamId !== streamId) throw new CommandIdConflictError(aggregate.area, request.origin.commandId, earlier.streamId);
    // A row recorded without a fingerprint (before they existed) cannot be told apart: it replays as before.
    if (earlier.requestHash !== null && earlier.requestHash !== requestHash) {
      throw new IdempotencyKeyReusedError(aggregate.area, request.origin.commandId, streamId, request.commandType);
    }
    const then = await this.load(aggregate, request.key, { toVersion: earlier.version });
    return { key: request.key, streamId, state: then.state, version: earlier.version, position: earlier.position, duplicate: true, appended: 0 };
  }
}

const resultOf = (error: unknown): CommandResult => {
  if (error instanceof StreamVersionConflictError) return 'conflict';
  return error instanceof RollgateError && httpStatusOf(error.code) < 500 ? 'rejected' : 'failed';
};

/** Two requests on one stream in one bulk would each be decided on the state before the other. */
function assertOneRequestPerStream(requests: readonly CommandRequest<unknown>[]): void {
  const keys = new Set<string>();
  const ids = new Set<string>();
  for (const [i, request] of requests.entries()) {
    if (keys.has(request.key)) throw duplicateInBulk(`items[${i}].key`, `${request.key} appears twice in one bulk command`);
    if (ids.has(request.origin.commandId)) {
      throw duplicateInBulk(`items[${i}].commandId`, `command id ${request.origin.commandId} appears twice in one bulk command`);
    }
    keys.add(request.key);
    ids.add(request.origin.commandId);
  }
}

const metadataOf = (origin: CommandOrigin): EventMetadata => ({
  actor: origin.actor,
  ...(origin.reason === undefined ? {} : { reason: origin.reason }),
  commandId: origin.commandId,
  correlationId: origin.correlationId ?? currentCorrelationId() ?? origin.commandId,
  causationId: origin.commandId,
});
