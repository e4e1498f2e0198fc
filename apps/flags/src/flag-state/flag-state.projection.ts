import type { FlagState, SegmentState } from '#rollgate/contracts';
import { streamKeyOf, streamTypeOf, type Projection, type RecordedEvent, type SqlClient } from '#rollgate/event-store';
import { foldEvents } from '#rollgate/commands';
import type { InlineProjection } from '#rollgate/service-runtime';
import { flagAggregate, segmentAggregate } from '../flag/flag.aggregate.js';

interface StateRow<State> {
  state: State;
  version: number;
}

/** Groups events by stream, keeping each stream's events in order. */
const byStream = (events: readonly RecordedEvent[]): Map<string, RecordedEvent[]> => {
  const groups = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    const group = groups.get(event.streamId);
    if (group) group.push(event);
    else groups.set(event.streamId, [event]);
  }
  return groups;
};

/**
 * Current flag and segment definitions (`flags.flag_state`, `flags.segment_state`). The same code runs inline,
 * in the append's transaction (the live read model), and as an async Projection for a rebuild from zero: it
 * reads the stored row, folds only the events after its version with the shared `evolveFlag`, and moves the row
 * forward under a `version < new` guard, so a replay over a live row changes nothing.
 */
export class FlagStateProjection implements Projection, InlineProjection {
  readonly name = 'flag-state';

  async apply(events: readonly RecordedEvent[], tx: SqlClient): Promise<void> {
    const flags = new Map<string, RecordedEvent[]>();
    for (const [streamId, streamEvents] of byStream(events)) {
      const type = streamTypeOf(streamId);
      if (type === 'flag') flags.set(streamKeyOf(streamId), streamEvents);
      else if (type === 'segment') await this.applySegment(streamKeyOf(streamId), streamEvents, tx);
    }
    if (flags.size > 0) await this.applyFlags(flags, tx);
  }

  async reset(tx: SqlClient): Promise<void> {
    await tx.query('DELETE FROM flags.flag_state');
    await tx.query('DELETE FROM flags.segment_state');
  }

  /** Every flag of the batch in two statements (a bulk command brings hundreds): rows locked in key order, then upserted. */
  private async applyFlags(flags: ReadonlyMap<string, RecordedEvent[]>, tx: SqlClient): Promise<void> {
    const keys = [...flags.keys()].sort();
    const { rows } = await tx.query<{ key: string; definition: FlagState; version: number }>(
      'SELECT key, definition, version FROM flags.flag_state WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE',
      [keys],
    );
    const stored = new Map(rows.map((row) => [row.key, { state: row.definition, version: row.version }]));
    const upserts: Array<{ key: string; version: number; state: NonNullable<FlagState>; last: RecordedEvent }> = [];
    for (const key of keys) {
      const current: StateRow<FlagState> = stored.get(key) ?? { state: null, version: 0 };
      const fresh = flags.get(key)!.filter((event) => event.streamVersion > current.version);
      if (fresh.length === 0) continue;
      const { state } = foldEvents(flagAggregate, fresh, current);
      if (state === null) continue;
      const last = fresh[fresh.length - 1]!;
      upserts.push({ key, version: last.streamVersion, state, last });
    }
    if (upserts.length === 0) return;
    await tx.query(
      `INSERT INTO flags.flag_state (key, version, archived, tags, definition, last_position, updated_at)
       SELECT u.key, u.version, u.archived, ARRAY(SELECT jsonb_array_elements_text(u.tags)), u.definition, u.last_position, u.updated_at
         FROM unnest($1::text[], $2::int[], $3::boolean[], $4::jsonb[], $5::jsonb[], $6::bigint[], $7::timestamptz[])
              AS u(key, version, archived, tags, definition, last_position, updated_at)
       ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, archived = EXCLUDED.archived, tags = EXCLUDED.tags,
         definition = EXCLUDED.definition, last_position = EXCLUDED.last_position, updated_at = EXCLUDED.updated_at
       WHERE flags.flag_state.version < EXCLUDED.version`,
      [
        upserts.map((u) => u.key),
        upserts.map((u) => u.version),
        upserts.map((u) => u.state.archived === true),
        upserts.map((u) => JSON.stringify(u.state.tags ?? [])),
        upserts.map((u) => JSON.stringify(u.state)),
        upserts.map((u) => u.last.globalPosition.toString()),
        upserts.map((u) => u.last.recordedAt),
      ],
    );
  }

  private async applySegment(key: string, events: RecordedEvent[], tx: SqlClient): Promise<void> {
    const { rows } = await tx.query<{ definition: SegmentState; version: number }>(
      'SELECT definition, version FROM flags.segment_state WHERE key = $1 FOR UPDATE',
      [key],
    );
    const current: StateRow<SegmentState> = rows[0] ? { state: rows[0].definition, version: rows[0].version } : { state: null, version: 0 };
    const fresh = events.filter((event) => event.streamVersion > current.version);
    if (fresh.length === 0) return;
    const { state } = foldEvents(segmentAggregate, fresh, current);
    const last = fresh[fresh.length - 1]!;
    await tx.query(
      `INSERT INTO flags.segment_state (key, version, definition, last_position, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, definition = EXCLUDED.definition,
         last_position = EXCLUDED.last_position, updated_at = EXCLUDED.updated_at
       WHERE flags.segment_state.version < EXCLUDED.version`,
      [key, last.streamVersion, state === null ? null : JSON.stringify(state), last.globalPosition.toString(), last.recordedAt],
    );
  }
}
