import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
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
import { assertAppendable, assertDistinctStreams, streamTypeOf } from './stream-id.js';

/** The subset of a pg client an inline projection may use: it runs inside the append's transaction. */
export interface SqlClient {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

export interface PgAppendOptions extends AppendOptions {
  /** Read-your-writes projections: run in the same transaction as the append, so both commit or neither does. */
  beforeCommit?: (events: readonly RecordedEvent[], tx: SqlClient) => Promise<void>;
  /**
   * The caller looked the command id up itself just before (the command handler does, before deciding): the store
   * skips its own lookup, one round trip. A duplicate that raced in since is still caught in the transaction (the
   * command id's unique key) and answered as the earlier append.
   */
  commandIdLookedUp?: boolean;
}

export interface PgAppendManyOptions {
  /** As PgAppendOptions.beforeCommit: every part's events, in the order appended, inside the transaction. */
  beforeCommit?: (events: readonly RecordedEvent[], tx: SqlClient) => Promise<void>;
  /** As PgAppendOptions.commandIdLookedUp, for every part's command id. */
  commandIdsLookedUp?: boolean;
}

interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

const CONFLICT_CODES = new Set(['RG409', '23505']);
/** A multi-stream append also loses a lock race as a deadlock when streams are created concurrently: retry it too. */
const MANY_CONFLICT_CODES = new Set([...CONFLICT_CODES, '40P01']);

export const toRecordedEvent = (row: EventRow): RecordedEvent => ({
  globalPosition: BigInt(row.global_position),
  transactionId: BigInt(row.transaction_id),
  streamId: row.stream_id,
  streamVersion: Number(row.stream_version),
  eventId: row.event_id,
  type: row.event_type,
  schemaVersion: row.schema_version,
  data: row.data,
  metadata: row.metadata,
  recordedAt: row.recorded_at,
});

const expectedVersionParam = (expected: AppendOptions['expectedVersion']): number | null =>
  expected === 'any' ? null : expected === 'no_stream' ? 0 : expected;

/**
 * The Postgres event store. Appends go through es.append_events (one transaction: stream version check, events,
 * command id); "$all" reads go through es.read_all_after, which never returns an event before every earlier
 * transaction has settled.
 */
export class PostgresEventStore implements EventStore, CheckpointStore {
  constructor(private readonly pool: Pool) {}

  async append(streamId: string, events: readonly NewEvent[], options: PgAppendOptions): Promise<AppendResult> {
    assertAppendable(streamId, events);
    if (options.commandId && !options.commandIdLookedUp) {
      const earlier = await this.earlierAppend(options.commandId, streamId);
      if (earlier) return earlier;
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const prepared = events.map((event) => ({ ...event, eventId: event.eventId ?? randomUUID() }));
      const { rows } = await client.query<{ next_version: string; first_position: string; tx: string }>(
        `SELECT next_version, first_position, tx::text AS tx
           FROM es.append_events($1, $2, $3, $4, $5, $6::uuid[], $7::text[], $8::smallint[], $9::jsonb[], $10::jsonb[], $11)`,
        [
          streamId,
          options.streamType ?? streamTypeOf(streamId),
          expectedVersionParam(options.expectedVersion),
          options.commandId ?? null,
          options.commandType ?? null,
          prepared.map((event) => event.eventId),
          prepared.map((event) => event.type),
          prepared.map((event) => event.schemaVersion ?? 1),
          prepared.map((event) => JSON.stringify(event.data ?? null)),
          prepared.map((event) => JSON.stringify(event.metadata ?? {})),
          options.requestHash ?? null,
        ],
      );
      const row = rows[0]!;
      const nextVersion = Number(row.next_version);
      if (options.beforeCommit) {
        const recorded = await this.readOwnAppend(client, streamId, nextVersion - prepared.length);
        await options.beforeCommit(recorded, client as unknown as SqlClient);
      }
      await client.query('COMMIT');
      return { streamId, nextVersion, firstPosition: BigInt(row.first_position), duplicate: false };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      const code = (error as { code?: string }).code;
      if (code && CONFLICT_CODES.has(code)) {
        if (options.commandId) {
          const earlier = await this.earlierAppend(options.commandId, streamId);
          if (earlier) return earlier;
        }
        throw new VersionConflictError(streamId, options.expectedVersion, { cause: error });
      }
      throw error;
    } finally {
      client.release();
    }
  }

  async appendMany(parts: readonly StreamAppend[], options: PgAppendManyOptions = {}): Promise<AppendResult[]> {
    assertDistinctStreams(parts);
    for (const part of parts) assertAppendable(part.streamId, part.events);
    const results = new Map<string, AppendResult>();
    if (!options.commandIdsLookedUp) {
      for (const earlier of await this.earlierAppends(parts)) results.set(earlier.streamId, earlier);
    }
    const pending = parts.filter((part) => !results.has(part.streamId));
    if (pending.length > 0) {
      for (const result of await this.appendInOneTransaction(pending, options)) results.set(result.streamId, result);
    }
    return parts.map((part) => results.get(part.streamId)!);
  }

  private async appendInOneTransaction(parts: readonly StreamAppend[], options: PgAppendManyOptions): Promise<AppendResult[]> {
    const events = parts.flatMap((part) =>
      part.events.map((event, i) => ({ ...event, streamId: part.streamId, ord: i + 1, eventId: event.eventId ?? randomUUID() })),
    );
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ part_stream_id: string; part_next_version: string; part_first_position: string }>(
        `SELECT part_stream_id, part_next_version, part_first_position
           FROM es.append_streams($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::int[],
                                  $8::text[], $9::int[], $10::uuid[], $11::text[], $12::smallint[], $13::jsonb[], $14::jsonb[])`,
        [
          parts.map((part) => part.streamId),
          parts.map((part) => part.streamType ?? streamTypeOf(part.streamId)),
          parts.map((part) => expectedVersionParam(part.expectedVersion)),
          parts.map((part) => part.commandId ?? null),
          parts.map((part) => part.commandType ?? null),
          parts.map((part) => part.requestHash ?? null),
          parts.map((part) => part.events.length),
          events.map((event) => event.streamId),
          events.map((event) => event.ord),
          events.map((event) => event.eventId),
          events.map((event) => event.type),
          events.map((event) => event.schemaVersion ?? 1),
          events.map((event) => JSON.stringify(event.data ?? null)),
          events.map((event) => JSON.stringify(event.metadata ?? {})),
        ],
      );
      if (options.beforeCommit) {
        const { rows: own } = await client.query<EventRow>(
          'SELECT * FROM es.events WHERE transaction_id = pg_current_xact_id() ORDER BY global_position',
        );
        await options.beforeCommit(own.map(toRecordedEvent), client as unknown as SqlClient);
      }
      await client.query('COMMIT');
      return rows.map((row) => ({
        streamId: row.part_stream_id,
        nextVersion: Number(row.part_next_version),
        firstPosition: BigInt(row.part_first_position),
        duplicate: false,
      }));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      const code = (error as { code?: string }).code;
      if (code && MANY_CONFLICT_CODES.has(code)) {
        throw new VersionConflictError(parts.map((part) => part.streamId).join(', '), 'given per stream', { cause: error });
      }
      throw error;
    } finally {
      client.release();
    }
  }

  /** The parts whose command id was applied before, as their earlier results; another stream's id is refused. */
  private async earlierAppends(parts: readonly StreamAppend[]): Promise<AppendResult[]> {
    const withIds = parts.filter((part) => part.commandId !== undefined);
    const applied = await this.findCommands(withIds.map((part) => part.commandId!));
    return withIds.flatMap((part) => {
      const earlier = applied.get(part.commandId!);
      if (!earlier) return [];
      if (earlier.streamId !== part.streamId) throw new CommandIdReusedError(part.commandId!, part.streamId, earlier.streamId);
      return [{ streamId: part.streamId, nextVersion: earlier.version, firstPosition: earlier.position, duplicate: true }];
    });
  }

  async readStreams(streamIds: readonly string[], options: Pick<ReadStreamOptions, 'asOf'> = {}): Promise<Map<string, RecordedEvent[]>> {
    const params: unknown[] = [[...streamIds]];
    let asOf = '';
    if (options.asOf && 'globalPosition' in options.asOf) {
      params.push(options.asOf.globalPosition.toString());
      asOf = ' AND global_position <= $2';
    } else if (options.asOf) {
      params.push(options.asOf.time);
      asOf = ' AND recorded_at <= $2';
    }
    const { rows } = await this.pool.query<EventRow>(
      `SELECT * FROM es.events WHERE stream_id = ANY($1::text[])${asOf} ORDER BY stream_id, stream_version`,
      params,
    );
    const streams = new Map<string, RecordedEvent[]>(streamIds.map((id) => [id, []]));
    for (const row of rows) streams.get(row.stream_id)!.push(toRecordedEvent(row));
    return streams;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const conditions = ['stream_id = $1'];
    const params: unknown[] = [streamId];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (options.fromVersion !== undefined) add('stream_version >= ?', options.fromVersion);
    if (options.toVersion !== undefined) add('stream_version <= ?', options.toVersion);
    if (options.asOf && 'globalPosition' in options.asOf) add('global_position <= ?', options.asOf.globalPosition.toString());
    if (options.asOf && 'time' in options.asOf) add('recorded_at <= ?', options.asOf.time);
    const { rows } = await this.pool.query<EventRow>(
      `SELECT * FROM es.events WHERE ${conditions.join(' AND ')} ORDER BY stream_version`,
      params,
    );
    return rows.map(toRecordedEvent);
  }

  async readAll(after: AllPosition, limit: number): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<EventRow>('SELECT * FROM es.read_all_after($1::xid8, $2, $3)', [
      after.transactionId.toString(),
      after.globalPosition.toString(),
      limit,
    ]);
    return rows.map(toRecordedEvent);
  }

  async streamVersion(streamId: string): Promise<number> {
    const { rows } = await this.pool.query<{ version: string }>('SELECT version FROM es.streams WHERE stream_id = $1', [
      streamId,
    ]);
    return rows[0] ? Number(rows[0].version) : 0;
  }

  async loadCheckpoint(name: string): Promise<AllPosition> {
    await this.pool.query('INSERT INTO es.checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
    const { rows } = await this.pool.query<{ last_tx: string; last_position: string }>(
      'SELECT last_tx::text AS last_tx, last_position FROM es.checkpoints WHERE name = $1',
      [name],
    );
    const row = rows[0];
    return row ? { transactionId: BigInt(row.last_tx), globalPosition: BigInt(row.last_position) } : START;
  }

  async advanceCheckpoint(name: string, from: AllPosition, to: AllPosition): Promise<boolean> {
    return advanceCheckpointWith(this.pool as unknown as SqlClient, name, from, to);
  }

  async resetCheckpoint(name: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO es.checkpoints (name) VALUES ($1)
       ON CONFLICT (name) DO UPDATE SET last_tx = '0'::xid8, last_position = 0, updated_at = now()`,
      [name],
    );
  }

  async findCommand(commandId: string): Promise<AppliedCommand | null> {
    const { rows } = await this.pool.query<{
      stream_id: string;
      result_version: string;
      first_position: string;
      request_hash: string | null;
    }>('SELECT stream_id, result_version, first_position, request_hash FROM es.commands WHERE command_id = $1', [commandId]);
    const row = rows[0];
    return row
      ? {
          streamId: row.stream_id,
          version: Number(row.result_version),
          position: BigInt(row.first_position),
          requestHash: row.request_hash,
        }
      : null;
  }

  async findCommands(commandIds: readonly string[]): Promise<Map<string, AppliedCommand>> {
    const found = new Map<string, AppliedCommand>();
    if (commandIds.length === 0) return found;
    const { rows } = await this.pool.query<{
      command_id: string;
      stream_id: string;
      result_version: string;
      first_position: string;
      request_hash: string | null;
    }>('SELECT command_id, stream_id, result_version, first_position, request_hash FROM es.commands WHERE command_id = ANY($1::text[])', [
      [...commandIds],
    ]);
    for (const row of rows) {
      found.set(row.command_id, {
        streamId: row.stream_id,
        version: Number(row.result_version),
        position: BigInt(row.first_position),
        requestHash: row.request_hash,
      });
    }
    return found;
  }

  private async earlierAppend(commandId: string, streamId: string): Promise<AppendResult | null> {
    const earlier = await this.findCommand(commandId);
    if (!earlier) return null;
    if (earlier.streamId !== streamId) throw new CommandIdReusedError(commandId, streamId, earlier.streamId);
    return { streamId, nextVersion: earlier.version, firstPosition: earlier.position, duplicate: true };
  }

  private async readOwnAppend(client: PoolClient, streamId: string, afterVersion: number): Promise<RecordedEvent[]> {
    const { rows } = await client.query<EventRow>(
      'SELECT * FROM es.events WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version',
      [streamId, afterVersion],
    );
    return rows.map(toRecordedEvent);
  }
}

/** Compare-and-set of a checkpoint, usable inside a projection's transaction. */
export async function advanceCheckpointWith(
  client: SqlClient,
  name: string,
  from: AllPosition,
  to: AllPosition,
): Promise<boolean> {
  const { rows } = await client.query<{ advanced: boolean }>(
    'SELECT es.advance_checkpoint($1, $2::xid8, $3, $4::xid8, $5) AS advanced',
    [name, from.transactionId.toString(), from.globalPosition.toString(), to.transactionId.toString(), to.globalPosition.toString()],
  );
  return rows[0]?.advanced === true;
}
