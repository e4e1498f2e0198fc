import {
  CommandIdReusedError,
  VersionConflictError,
  type AllPosition,
  type AppliedCommand,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type NewEvent,
  type PgAppendOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SqlClient,
} from '#rollgate/event-store';
import { currentCorrelationId, httpStatusOf, RollgateError } from '#rollgate/platform';
import { applyDecided, foldEvents, streamIdOf, type AggregateType, type DomainEvent, type Folded } from './aggregate.js';
import { CommandIdConflictError, EventTooLargeError, IdempotencyKeyReusedError, StreamVersionConflictError } from './command.errors.js';
import { DEFAULT_MAX_EVENT_BYTES, eventWireBytes } from './event-size.js';
import { requestHashOf } from './request-hash.js';
import { jitteredRetry, type RetryPolicy } from './retry-policy.js';

/** The store as the command path uses it: the port, plus the Postgres store's in-transaction hook. */
export interface CommandStore extends EventStore {
  append(streamId: string, events: readonly NewEvent[], options: PgAppendOptions): Promise<AppendResult>;
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
  private readonly committed: Array<() => void> = [];
  readonly maxEventBytes: number;

  constructor(private readonly options: CommandHandlerOptions) {
    this.retry = options.retry ?? jitteredRetry();
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  /** Called right after every append that committed events (the outbox publisher wakes on it). */
  onCommitted(listener: () => void): void {
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
      const current = await this.load(aggregate, request.key);
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
    for (const listener of this.committed) listener();
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

const metadataOf = (origin: CommandOrigin): EventMetadata => ({
  actor: origin.actor,
  ...(origin.reason === undefined ? {} : { reason: origin.reason }),
  commandId: origin.commandId,
  correlationId: origin.correlationId ?? currentCorrelationId() ?? origin.commandId,
  causationId: origin.commandId,
});
