import { Inject, Injectable } from '@nestjs/common';
import type { BulkFlagCommandResult, CommandEnvelope, ConfigureEnvironmentsPayload, FlagCommandResult, SegmentCommandResult } from '#rollgate/contracts';
import type { Segment } from '#rollgate/evaluation';
import { CommandHandler, type CommandOrigin, type CommandOutcome, type CommandRequest } from '#rollgate/commands';
import { CLOCK, type Clock } from '#rollgate/service-runtime';
import { SEGMENT_USAGE, type SegmentUsage } from '../store/store.tokens.js';
import { decideSegment, segmentCommandKey, type SegmentCommand } from '../segment/segment.decider.js';
import { segmentView } from '../segment/segment.view.js';
import { flagAggregate, segmentAggregate } from './flag.aggregate.js';
import { commandKey, decideFlag, type FlagCommand } from './flag.decider.js';
import { FlagError } from './flag.errors.js';
import { segmentKeysIn } from './flag.shape.js';

/** A flag command without the past state of a revert: the service loads that. */
export type FlagCommandInput =
  | Exclude<FlagCommand, { type: 'RevertFlag' }>
  | { type: 'RevertFlag'; data: Extract<FlagCommand, { type: 'RevertFlag' }>['data'] };

type SegmentCommandInput =
  | Extract<SegmentCommand, { type: 'DefineSegment' }>
  | Extract<SegmentCommand, { type: 'ChangeSegmentMembers' }>
  | { type: 'RemoveSegment'; data: Extract<SegmentCommand, { type: 'RemoveSegment' }>['data'] };

const originOf = (envelope: CommandEnvelope<unknown>): CommandOrigin => envelope;

/** What every flag and segment command replies with besides the state. */
const replyOf = (outcome: CommandOutcome<unknown>) => ({
  key: outcome.key,
  version: outcome.version,
  position: outcome.position.toString(),
  duplicate: outcome.duplicate,
  appended: outcome.appended,
});

const expectedVersionOf = (data: unknown): number | undefined => {
  const expected = (data as { expectedVersion?: unknown }).expectedVersion;
  return typeof expected === 'number' ? expected : undefined;
};

/**
 * Flags and segments on the command core: it loads, folds, decides and appends; this service only supplies what
 * a decision needs besides the stream (the segments a flag references, the past state of a revert, the flags
 * that use a segment).
 */
@Injectable()
export class FlagService {
  constructor(
    private readonly commands: CommandHandler,
    @Inject(SEGMENT_USAGE) private readonly segmentUsage: SegmentUsage,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async handleFlag(envelope: CommandEnvelope<unknown>, input: FlagCommandInput): Promise<FlagCommandResult> {
    const key = commandKey(input as FlagCommand);
    const command = await this.withRevertTarget(key, input);
    const outcome = await this.commands.handle(
      flagAggregate,
      async (decided: FlagCommand, state) => {
        const segments = await this.loadSegments(segmentKeysIn([decided.data, state]));
        return decideFlag(decided, state, this.clock(), { segments });
      },
      { origin: originOf(envelope), key, commandType: command.type, command, expectedVersion: expectedVersionOf(command.data) },
    );
    return { ...replyOf(outcome), flag: outcome.state };
  }

  /**
   * `configure-environments`: each item is the `ConfigureEnvironment` command of its flag (same decision, same
   * fingerprint, its own command id), and the items are appended together (CommandHandler.handleMany).
   */
  async configureEnvironments(envelope: CommandEnvelope<unknown>, payload: ConfigureEnvironmentsPayload): Promise<BulkFlagCommandResult> {
    const { environment } = payload;
    const requests = payload.items.map((item): CommandRequest<FlagCommand> => ({
      origin: {
        commandId: item.commandId ?? `${envelope.commandId}:${item.key}`,
        actor: envelope.actor,
        ...(envelope.reason === undefined ? {} : { reason: envelope.reason }),
        correlationId: envelope.correlationId ?? envelope.commandId,
      },
      key: item.key,
      commandType: 'ConfigureEnvironment',
      command: { type: 'ConfigureEnvironment', data: { key: item.key, environment, config: item.config } },
    }));
    const segments = this.segmentCache();
    const outcomes = await this.commands.handleMany(
      flagAggregate,
      async (command: FlagCommand, state) => decideFlag(command, state, this.clock(), { segments: await segments(segmentKeysIn([command.data, state])) }),
      requests,
    );
    return { items: outcomes.map((outcome) => ({ ...replyOf(outcome), appended: outcome.appended })) };
  }

  async handleSegment(envelope: CommandEnvelope<unknown>, input: SegmentCommandInput): Promise<SegmentCommandResult> {
    const key = segmentCommandKey(input as SegmentCommand);
    const outcome = await this.commands.handle(
      segmentAggregate,
      async (command: SegmentCommandInput, state) =>
        decideSegment(
          command.type === 'RemoveSegment' ? { ...command, usedBy: await this.segmentUsage.flagsUsing(key) } : command,
          state,
          this.clock(),
        ),
      { origin: originOf(envelope), key, commandType: input.type, command: input, expectedVersion: expectedVersionOf(input.data) },
    );
    return { ...replyOf(outcome), segment: outcome.state === null ? null : segmentView(outcome.state) };
  }

  private async withRevertTarget(key: string, input: FlagCommandInput): Promise<FlagCommand> {
    if (input.type !== 'RevertFlag') return input;
    const { toVersion, asOf } = input.data;
    if (toVersion !== undefined && asOf !== undefined) {
      throw FlagError.invalid('a revert takes toVersion or asOf, not both', [{ path: 'asOf', message: 'must be absent when toVersion is given' }]);
    }
    const then = await this.commands.load(flagAggregate, key, toVersion !== undefined ? { toVersion } : { asOf: { time: new Date(asOf!) } });
    // A version beyond the stream's end is not a past state.
    const target = toVersion !== undefined && then.version < toVersion ? null : then.state;
    return { ...input, target };
  }

  /** loadSegments for the items of one bulk command: each segment read once however many flags use it. */
  private segmentCache(): (keys: ReadonlySet<string>) => Promise<Map<string, Segment>> {
    const loaded = new Map<string, Promise<Segment | null>>();
    return async (keys) => {
      const segments = new Map<string, Segment>();
      for (const key of keys) {
        if (!loaded.has(key)) loaded.set(key, this.commands.load(segmentAggregate, key).then(({ state }) => state));
        const segment = await loaded.get(key)!;
        if (segment !== null) segments.set(key, segment);
      }
      return segments;
    };
  }

  private async loadSegments(keys: ReadonlySet<string>): Promise<Map<string, Segment>> {
    const segments = new Map<string, Segment>();
    await Promise.all(
      [...keys].map(async (key) => {
        const { state } = await this.commands.load(segmentAggregate, key);
        if (state !== null) segments.set(key, state);
      }),
    );
    return segments;
  }
}
