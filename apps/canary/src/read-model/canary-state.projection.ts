import { ACTIVE_CANARY_STATUSES, type CanaryState } from '#rollgate/contracts';
import { foldEvents } from '#rollgate/commands';
import { streamKeyOf, streamTypeOf, type Projection, type RecordedEvent, type SqlClient } from '#rollgate/event-store';
import type { InlineProjection } from '#rollgate/service-runtime';
import { canaryAggregate, type CanaryAggregateState } from '../canary/canary.aggregate.js';
import { CanaryError, CanaryErrorCodes } from '../canary/canary.errors.js';

const byStream = (events: readonly RecordedEvent[]): Map<string, RecordedEvent[]> => {
  const groups = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    const group = groups.get(event.streamId);
    if (group) group.push(event);
    else groups.set(event.streamId, [event]);
  }
  return groups;
};

const ACTIVE = new Set(ACTIVE_CANARY_STATUSES);

/** Why the projection may refuse an append: a canary that would become the flag's second active one. */
export interface CanaryStateProjectionOptions {
  /** Inline (the append's transaction): refuse. A rebuild replays what was accepted and checks nothing. */
  guardActive: boolean;
}

/**
 * `canary.canaries`: each canary's current state, written inline (read-your-writes for get and list) and rebuilt
 * by the same code. It is also the one-active-canary-per-flag rule: a canary that becomes active takes a
 * transaction lock on its flag and fails the append with CANARY.ACTIVE_CANARY_EXISTS when another active canary
 * holds it, so two concurrent creates on one flag cannot both commit.
 */
export class CanaryStateProjection implements Projection, InlineProjection {
  readonly name = 'canary-state';

  constructor(private readonly options: CanaryStateProjectionOptions = { guardActive: true }) {}

  async apply(events: readonly RecordedEvent[], tx: SqlClient): Promise<void> {
    for (const [streamId, streamEvents] of byStream(events)) {
      if (streamTypeOf(streamId) === canaryAggregate.name)
        await this.applyCanary(streamKeyOf(streamId), streamEvents, tx);
    }
  }

  async reset(tx: SqlClient): Promise<void> {
    await tx.query('DELETE FROM canary.canaries');
  }

  private async applyCanary(id: string, events: RecordedEvent[], tx: SqlClient): Promise<void> {
    const { rows } = await tx.query<{ state: CanaryState; version: number; active: boolean }>(
      'SELECT state, version, active FROM canary.canaries WHERE id = $1 FOR UPDATE',
      [id],
    );
    const current = rows[0];
    const fresh = events.filter((event) => event.streamVersion > (current?.version ?? 0));
    if (fresh.length === 0) return;
    const from = { state: (current?.state ?? null) as CanaryAggregateState, version: current?.version ?? 0 };
    const { state } = foldEvents(canaryAggregate, fresh, from);
    if (state === null) return;
    const active = ACTIVE.has(state.status);
    if (active && current?.active !== true && this.options.guardActive) await this.assertOnlyActive(state, tx);
    const last = fresh[fresh.length - 1]!;
    await tx.query(
      `INSERT INTO canary.canaries (id, flag_key, status, active, version, state, created_at, updated_at, last_position)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, active = EXCLUDED.active, version = EXCLUDED.version,
         state = EXCLUDED.state, updated_at = EXCLUDED.updated_at, last_position = EXCLUDED.last_position
       WHERE canary.canaries.version < EXCLUDED.version`,
      [
        id,
        state.flagKey,
        state.status,
        active,
        last.streamVersion,
        JSON.stringify(state),
        state.createdAt,
        last.recordedAt,
        last.globalPosition.toString(),
      ],
    );
  }

  private async assertOnlyActive(state: CanaryState, tx: SqlClient): Promise<void> {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('rollgate-canary-flag'), hashtext($1))", [state.flagKey]);
    const { rows } = await tx.query<{ id: string; status: string }>(
      'SELECT id, status FROM canary.canaries WHERE flag_key = $1 AND active AND id <> $2',
      [state.flagKey, state.id],
    );
    if (rows[0] !== undefined) {
      throw new CanaryError(
        CanaryErrorCodes.activeCanaryExists,
        `flag ${state.flagKey} already has canary ${rows[0].id} (${rows[0].status}): end it before another`,
        { flagKey: state.flagKey, canaryId: rows[0].id, status: rows[0].status },
      );
    }
  }
}
