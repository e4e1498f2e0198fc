import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  evolveFlag,
  evolveSegment,
  flagStreamId,
  segmentStreamId,
  type CommandEnvelope,
  type FlagCommandResult,
  type FlagEvent,
  type FlagState,
  type SegmentCommandResult,
  type SegmentEvent,
  type SegmentState,
} from '#rollgate/contracts';
import type { Segment } from '#rollgate/evaluation';
import { VersionConflictError, type AllPosition, type EventMetadata, type RecordedEvent } from '#rollgate/event-store';
import { currentCorrelationId } from '#rollgate/platform';
import {
  CLOCK,
  COMMAND_LOG,
  EVENT_STORE,
  INLINE_PROJECTION,
  POSITION_WAITER,
  SEGMENT_USAGE,
  type AppliedPositionWaiter,
  type Clock,
  type CommandLog,
  type FlagEventStore,
  type InlineProjection,
  type SegmentUsage,
} from '../store/store.tokens.js';
import { decideSegment, segmentCommandKey, type SegmentCommand } from '../segment/segment.decider.js';
import { commandKey, decideFlag, type FlagCommand } from './flag.decider.js';
import { FlagError, FlagErrorCodes } from './flag.errors.js';
import { segmentKeysIn } from './flag.shape.js';

/**
 * Attempts when the caller gave no expected version. Every conflict means another writer succeeded, so N attempts
 * let a burst of N concurrent writers on one flag all apply; beyond that the caller gets FLAGS.VERSION_CONFLICT.
 */
export const MAX_ATTEMPTS = 10;
/** How long a command reply waits for this process's evaluation engines to apply it (read-your-writes). */
export const APPLY_WAIT_MS = 2_000;

/** A flag command without the past state of a revert: the service loads that. */
export type FlagCommandInput =
  | Exclude<FlagCommand, { type: 'RevertFlag' }>
  | { type: 'RevertFlag'; data: Extract<FlagCommand, { type: 'RevertFlag' }>['data'] };

type SegmentCommandInput =
  | Extract<SegmentCommand, { type: 'DefineSegment' }>
  | { type: 'RemoveSegment'; data: Extract<SegmentCommand, { type: 'RemoveSegment' }>['data'] };

interface Aggregate<State, Event extends { type: string; data: unknown }> {
  streamId: string;
  initial: State;
  evolve: (state: State, event: Event, version: number) => State;
}

interface Outcome<State> {
  state: State;
  version: number;
  position: bigint;
  duplicate: boolean;
  appended: number;
}

const foldEvents = <State, Event>(
  aggregate: Aggregate<State, Event & { type: string; data: unknown }>,
  events: readonly RecordedEvent[],
): State =>
  events.reduce<State>(
    (state, event) => aggregate.evolve(state, { type: event.type, data: event.data } as Event & { type: string; data: unknown }, event.streamVersion),
    aggregate.initial,
  );

/**
 * The flags application layer: load the stream, fold it with the shared evolve, decide, append with the expected
 * version and the command id, with the current-state projection in the same transaction. Retries on a version
 * conflict unless the caller pinned the version (then the conflict is the answer: FLAGS.VERSION_CONFLICT).
 */
@Injectable()
export class FlagService {
  private readonly commitListeners: Array<() => void> = [];

  constructor(
    @Inject(EVENT_STORE) private readonly store: FlagEventStore,
    @Inject(COMMAND_LOG) private readonly commands: CommandLog,
    @Inject(SEGMENT_USAGE) private readonly segmentUsage: SegmentUsage,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(INLINE_PROJECTION) private readonly projection?: InlineProjection,
    @Optional() @Inject(POSITION_WAITER) private readonly waiter?: AppliedPositionWaiter,
  ) {}

  /** Called right after every append that committed events (the outbox publisher wakes on it, not on its next poll). */
  onCommitted(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  async handleFlag(envelope: CommandEnvelope<unknown>, input: FlagCommandInput): Promise<FlagCommandResult> {
    const key = commandKey(input as FlagCommand);
    const aggregate: Aggregate<FlagState, FlagEvent> = { streamId: flagStreamId(key), initial: null, evolve: evolveFlag };
    const command = await this.withRevertTarget(aggregate, input);
    const outcome = await this.execute(aggregate, envelope, command.type, expectedVersionOf(command.data), async (state) => {
      const segments = await this.loadSegments(segmentKeysIn([command.data, state]));
      return decideFlag(command, state, this.clock(), { segments });
    });
    return {
      key,
      version: outcome.version,
      position: outcome.position.toString(),
      duplicate: outcome.duplicate,
      appended: outcome.appended,
      flag: outcome.state,
    };
  }

  async handleSegment(envelope: CommandEnvelope<unknown>, input: SegmentCommandInput): Promise<SegmentCommandResult> {
    const key = segmentCommandKey(input as SegmentCommand);
    const aggregate: Aggregate<SegmentState, SegmentEvent> = {
      streamId: segmentStreamId(key),
      initial: null,
      evolve: evolveSegment,
    };
    const outcome = await this.execute(aggregate, envelope, input.type, expectedVersionOf(input.data), async (state) => {
      const command: SegmentCommand =
        input.type === 'RemoveSegment' ? { ...input, usedBy: await this.segmentUsage.flagsUsing(key) } : input;
      return decideSegment(command, state, this.clock());
    });
    return {
      key,
      version: outcome.version,
      position: outcome.position.toString(),
      duplicate: outcome.duplicate,
      appended: outcome.appended,
      segment: outcome.state,
    };
  }

  private async withRevertTarget(aggregate: Aggregate<FlagState, FlagEvent>, input: FlagCommandInput): Promise<FlagCommand> {
    if (input.type !== 'RevertFlag') return input;
    const { toVersion, asOf } = input.data;
    if (toVersion !== undefined && asOf !== undefined) {
      throw FlagError.invalid('a revert takes toVersion or asOf, not both', [{ path: 'asOf', message: 'must be absent when toVersion is given' }]);
    }
    const events = await this.store.readStream(
      aggregate.streamId,
      toVersion !== undefined ? { toVersion } : { asOf: { time: new Date(asOf!) } },
    );
    // A version beyond the stream's end is not a past state.
    const target = toVersion !== undefined && events.length < toVersion ? null : foldEvents(aggregate, events);
    return { ...input, target };
  }

  private async loadSegments(keys: ReadonlySet<string>): Promise<Map<string, Segment>> {
    const segments = new Map<string, Segment>();
    await Promise.all(
      [...keys].map(async (key) => {
        const events = await this.store.readStream(segmentStreamId(key));
        const state = foldEvents<SegmentState, SegmentEvent>(
          { streamId: segmentStreamId(key), initial: null, evolve: evolveSegment },
          events,
        );
        if (state !== null) segments.set(key, state);
      }),
    );
    return segments;
  }

  private async execute<State, Event extends { type: string; data: unknown }>(
    aggregate: Aggregate<State, Event>,
    envelope: CommandEnvelope<unknown>,
    commandType: string,
    expectedVersion: number | undefined,
    decide: (state: State) => Promise<Event[]>,
  ): Promise<Outcome<State>> {
    const earlier = await this.commands.find(envelope.commandId);
    if (earlier) return this.duplicateOf(aggregate, envelope.commandId, earlier);

    const metadata: EventMetadata = {
      actor: envelope.actor,
      ...(envelope.reason === undefined ? {} : { reason: envelope.reason }),
      commandId: envelope.commandId,
      correlationId: envelope.correlationId ?? currentCorrelationId() ?? envelope.commandId,
      causationId: envelope.commandId,
    };
    for (let attempt = 1; ; attempt++) {
      const recorded = await this.store.readStream(aggregate.streamId);
      const version = recorded.length === 0 ? 0 : recorded[recorded.length - 1]!.streamVersion;
      const state = foldEvents(aggregate, recorded);
      if (expectedVersion !== undefined && expectedVersion !== version) {
        throw versionConflict(aggregate.streamId, expectedVersion, version);
      }
      const events = await decide(state);
      if (events.length === 0) {
        const position = recorded.length === 0 ? 0n : recorded[recorded.length - 1]!.globalPosition;
        return { state, version, position, duplicate: false, appended: 0 };
      }
      let last: AllPosition | undefined;
      try {
        const result = await this.store.append(
          aggregate.streamId,
          events.map((event) => ({ type: event.type, data: event.data, metadata })),
          {
            expectedVersion: version === 0 ? 'no_stream' : version,
            commandId: envelope.commandId,
            commandType,
            beforeCommit: async (appended, tx) => {
              await this.projection?.apply(appended, tx);
              const tail = appended[appended.length - 1]!;
              last = { transactionId: tail.transactionId, globalPosition: tail.globalPosition };
            },
          },
        );
        if (result.duplicate) {
          return this.duplicateOf(aggregate, envelope.commandId, {
            streamId: result.streamId,
            version: result.nextVersion,
            position: result.firstPosition,
          });
        }
        for (const listener of this.commitListeners) listener();
        const next = events.reduce<State>((current, event, i) => aggregate.evolve(current, event, version + i + 1), state);
        if (last !== undefined && this.waiter) await this.waiter.waitFor(last, APPLY_WAIT_MS);
        return { state: next, version: result.nextVersion, position: result.firstPosition, duplicate: false, appended: events.length };
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        if (expectedVersion !== undefined || attempt >= MAX_ATTEMPTS) {
          throw versionConflict(aggregate.streamId, expectedVersion ?? version, undefined, error);
        }
        // Jitter spreads the losers of one round so they do not collide again in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
      }
    }
  }

  private async duplicateOf<State, Event extends { type: string; data: unknown }>(
    aggregate: Aggregate<State, Event>,
    commandId: string,
    earlier: { streamId: string; version: number; position: bigint },
  ): Promise<Outcome<State>> {
    if (earlier.streamId !== aggregate.streamId) {
      throw new FlagError('FLAGS.COMMAND_ID_CONFLICT', `command id ${commandId} was already used for ${earlier.streamId}`, {
        commandId,
        streamId: earlier.streamId,
      });
    }
    const events = await this.store.readStream(aggregate.streamId, { toVersion: earlier.version });
    return {
      state: foldEvents(aggregate, events),
      version: earlier.version,
      position: earlier.position,
      duplicate: true,
      appended: 0,
    };
  }
}

const expectedVersionOf = (data: unknown): number | undefined => {
  const expected = (data as { expectedVersion?: unknown }).expectedVersion;
  return typeof expected === 'number' ? expected : undefined;
};

function versionConflict(streamId: string, expected: number, actual: number | undefined, cause?: unknown): FlagError {
  return new FlagError(
    FlagErrorCodes.versionConflict,
    `${streamId} is not at version ${expected}${actual === undefined ? '' : ` (it is at ${actual})`}`,
    actual === undefined ? { streamId, expectedVersion: expected } : { streamId, expectedVersion: expected, currentVersion: actual },
    cause,
  );
}
