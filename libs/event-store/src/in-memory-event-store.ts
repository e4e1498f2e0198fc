import { randomUUID } from 'node:crypto';
import { CommandIdReusedError, VersionConflictError } from './event-store.errors.js';
import {
  START,
  type AllPosition,
  type AppliedCommand,
  type AppendOptions,
  type AppendResult,
  type CheckpointStore,
  type EventStore,
  type NewEvent,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
} from './event-store.port.js';
import { assertAppendable, assertDistinctStreams } from './stream-id.js';

const samePosition = (a: AllPosition, b: AllPosition): boolean =>
  a.transactionId === b.transactionId && a.globalPosition === b.globalPosition;

const isAfter = (event: RecordedEvent, position: AllPosition): boolean =>
  event.transactionId > position.transactionId ||
  (event.transactionId === position.transactionId && event.globalPosition > position.globalPosition);

/**
 * The in-memory twin for unit tests. Appends are atomic and serialized, so every append is its own committed
 * transaction; it passes the same contract suite as the Postgres store.
 */
export class InMemoryEventStore implements EventStore, CheckpointStore {
  private readonly events: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly commands = new Map<string, { result: AppendResult; requestHash: string | null }>();
  private readonly checkpoints = new Map<string, AllPosition>();
  private nextPosition = 1n;
  private nextTransaction = 1000n;

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    return this.appendAtomically([{ ...options, streamId, events }])[0]!;
  }

  async appendMany(parts: readonly StreamAppend[]): Promise<AppendResult[]> {
    return this.appendAtomically(parts);
  }

  /** One transaction: every part checked before any is applied. */
  private appendAtomically(parts: readonly StreamAppend[]): AppendResult[] {
    assertDistinctStreams(parts);
    for (const part of parts) assertAppendable(part.streamId, part.events);
    const results = new Map<string, AppendResult>();
    for (const part of parts) {
      const earlier = part.commandId === undefined ? undefined : this.commands.get(part.commandId);
      if (earlier) {
        if (earlier.result.streamId !== part.streamId) throw new CommandIdReusedError(part.commandId!, part.streamId, earlier.result.streamId);
        results.set(part.streamId, { ...earlier.result, duplicate: true });
        continue;
      }
      const current = this.streams.get(part.streamId)?.length ?? 0;
      const expected = part.expectedVersion;
      if ((expected === 'no_stream' && current > 0) || (typeof expected === 'number' && expected !== current)) {
        throw new VersionConflictError(part.streamId, expected);
      }
    }
    const transactionId = this.nextTransaction++;
    const recordedAt = this.clock();
    for (const part of parts) {
      if (results.has(part.streamId)) continue;
      const stream = this.streams.get(part.streamId) ?? [];
      const recorded = part.events.map(
        (event, index): RecordedEvent => ({
          globalPosition: this.nextPosition++,
          transactionId,
          streamId: part.streamId,
          streamVersion: stream.length + index + 1,
          eventId: event.eventId ?? randomUUID(),
          type: event.type,
          schemaVersion: event.schemaVersion ?? 1,
          data: structuredClone(event.data ?? null),
          metadata: structuredClone(event.metadata ?? {}),
          recordedAt,
        }),
      );
      this.streams.set(part.streamId, [...stream, ...recorded]);
      this.events.push(...recorded);
      const result: AppendResult = {
        streamId: part.streamId,
        nextVersion: stream.length + recorded.length,
        firstPosition: recorded[0]!.globalPosition,
        duplicate: false,
      };
      if (part.commandId) this.commands.set(part.commandId, { result, requestHash: part.requestHash ?? null });
      results.set(part.streamId, result);
    }
    return parts.map((part) => results.get(part.streamId)!);
  }

  async readStreams(streamIds: readonly string[], options: Pick<ReadStreamOptions, 'asOf'> = {}): Promise<Map<string, RecordedEvent[]>> {
    const streams = new Map<string, RecordedEvent[]>();
    for (const id of streamIds) streams.set(id, await this.readStream(id, options));
    return streams;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const asOf = options.asOf;
    return (this.streams.get(streamId) ?? []).filter(
      (event) =>
        (options.fromVersion === undefined || event.streamVersion >= options.fromVersion) &&
        (options.toVersion === undefined || event.streamVersion <= options.toVersion) &&
        (!asOf ||
          ('globalPosition' in asOf
            ? event.globalPosition <= asOf.globalPosition
            : event.recordedAt.getTime() <= asOf.time.getTime())),
    );
  }

  async readAll(after: AllPosition, limit: number): Promise<RecordedEvent[]> {
    const result: RecordedEvent[] = [];
    for (const event of this.events) {
      if (result.length >= limit) break;
      if (isAfter(event, after)) result.push(event);
    }
    return result;
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.streams.get(streamId)?.length ?? 0;
  }

  async findCommand(commandId: string): Promise<AppliedCommand | null> {
    const earlier = this.commands.get(commandId);
    if (!earlier) return null;
    const { result, requestHash } = earlier;
    return { streamId: result.streamId, version: result.nextVersion, position: result.firstPosition, requestHash };
  }

  async findCommands(commandIds: readonly string[]): Promise<Map<string, AppliedCommand>> {
    const found = new Map<string, AppliedCommand>();
    for (const id of commandIds) {
      const applied = await this.findCommand(id);
      if (applied) found.set(id, applied);
    }
    return found;
  }

  async loadCheckpoint(name: string): Promise<AllPosition> {
    return this.checkpoints.get(name) ?? START;
  }

  async advanceCheckpoint(name: string, from: AllPosition, to: AllPosition): Promise<boolean> {
    if (!samePosition(this.checkpoints.get(name) ?? START, from)) return false;
    this.checkpoints.set(name, to);
    return true;
  }

  async resetCheckpoint(name: string): Promise<void> {
    this.checkpoints.set(name, START);
  }
}
