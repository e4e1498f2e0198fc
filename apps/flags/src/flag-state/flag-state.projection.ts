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
    for (const [streamId, streamEvents] of byStream(events)) {
      const type = streamTypeOf(streamId);
      if (type === 'flag') await this.applyFlag(streamKeyOf(streamId), streamEvents, tx);
      else if (type === 'segment') await this.applySegment(streamKeyOf(streamId), streamEvents, tx);
    }
  }

  async reset(tx: SqlClient): Promise<void> {
    await tx.query('DELETE FROM flags.flag_state');
    await tx.query('DELETE FROM flags.segment_state');
  }

  private async applyFlag(key: string, events: RecordedEvent[], tx: SqlClient): Promise<void> {
    const { rows } = await tx.query<{ definition: FlagState; version: number }>(
      'SELECT definition, version FROM flags.flag_state WHERE key = $1 FOR UPDATE',
      [key],
    );
    const current: StateRow<FlagState> = rows[0] ? { state: rows[0].definition, version: rows[0].version } : { state: null, version: 0 };
    const fresh = events.filter((event) => event.streamVersion > current.version);
    if (fresh.length === 0) return;
    const { state } = foldEvents(flagAggregate, fresh, current);
    if (state === null) return;
    const last = fresh[fresh.length - 1]!;
    await tx.query(
      `INSERT INTO flags.flag_state (key, version, archived, tags, definition, last_position, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, archived = EXCLUDED.archived, tags = EXCLUDED.tags,
         definition = EXCLUDED.definition, last_position = EXCLUDED.last_position, updated_at = EXCLUDED.updated_at
       WHERE flags.flag_state.version < EXCLUDED.version`,
      [key, last.streamVersion, state.archived === true, state.tags ?? [], JSON.stringify(state), last.globalPosition.toString(), last.recordedAt],
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
