import { eventOf, foldEvents } from '#rollgate/commands';
import { TERMINAL_STATUSES, type Execution, type ExecutionEvent, type PlanState } from '#rollgate/contracts';
import type { Projection, RecordedEvent, SqlClient } from '#rollgate/event-store';
import type { InlineProjection } from '#rollgate/service-runtime';
import { executionAggregate, planAggregate } from '../rollback.aggregates.js';

const PLAN_PREFIX = 'rollback-plan-';
const EXECUTION_PREFIX = 'rollback-';

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
 * rollback.plans, rollback.executions and the target lock rollback.active_targets. The same code runs inline (in
 * the append's transaction: read-your-writes, and the lock checked where it is taken) and as a Projection for a
 * rebuild. Rows only move forward (`version < new`), so a replay over live rows changes nothing.
 */
export class RollbackStateProjection implements Projection, InlineProjection {
  readonly name = 'rollback-state';
  /**
   * The state this instance last wrote per execution, with the row's version and last position then. An execution of a
   * large restore is ~600 KB of JSON, read back for every event it records otherwise. The position tells a kept state
   * from one whose transaction rolled back (positions are never reused); any mismatch reads the row.
   */
  private readonly written = new Map<string, { version: number; position: string; state: Execution }>();

  async apply(events: readonly RecordedEvent[], tx: SqlClient): Promise<void> {
    for (const [streamId, streamEvents] of byStream(events)) {
      if (streamId.startsWith(PLAN_PREFIX)) await this.applyPlan(streamId.slice(PLAN_PREFIX.length), streamEvents, tx);
      else if (streamId.startsWith(EXECUTION_PREFIX)) await this.applyExecution(streamId.slice(EXECUTION_PREFIX.length), streamEvents, tx);
    }
  }

  async reset(tx: SqlClient): Promise<void> {
    await tx.query('DELETE FROM rollback.active_targets');
    await tx.query('DELETE FROM rollback.executions');
    await tx.query('DELETE FROM rollback.plans');
  }

  private async applyPlan(id: string, events: RecordedEvent[], tx: SqlClient): Promise<void> {
    const { rows } = await tx.query<{ definition: PlanState; version: number }>('SELECT definition, version FROM rollback.plans WHERE id = $1 FOR UPDATE', [id]);
    const current = rows[0] ? { state: rows[0].definition, version: rows[0].version } : { state: null, version: 0 };
    const fresh = events.filter((event) => event.streamVersion > current.version);
    if (fresh.length === 0) return;
    const { state } = foldEvents(planAggregate, fresh, current);
    if (state === null) return;
    const last = fresh[fresh.length - 1]!;
    await tx.query(
      `INSERT INTO rollback.plans (id, version, archived, rollback_type, scope, target_id, definition, last_position, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, archived = EXCLUDED.archived, rollback_type = EXCLUDED.rollback_type,
         scope = EXCLUDED.scope, target_id = EXCLUDED.target_id, definition = EXCLUDED.definition,
         last_position = EXCLUDED.last_position, updated_at = EXCLUDED.updated_at
       WHERE rollback.plans.version < EXCLUDED.version`,
      [id, last.streamVersion, state.archived, state.rollbackType, state.scope, state.targetId, JSON.stringify(state), last.globalPosition.toString(), last.recordedAt],
    );
  }

  private async applyExecution(id: string, events: RecordedEvent[], tx: SqlClient): Promise<void> {
    const current = await this.currentExecution(id, tx);
    const fresh = events.filter((event) => event.streamVersion > current.version);
    if (fresh.length === 0) return;
    for (const stored of fresh) {
      const event = eventOf(executionAggregate, stored);
      if (event !== undefined) await this.applyLock(id, event, stored.recordedAt, tx);
    }
    const { state } = foldEvents(executionAggregate, fresh, current);
    if (state === null) return;
    const last = fresh[fresh.length - 1]!;
    await tx.query(
      `INSERT INTO rollback.executions (id, version, status, type, scope, target_id, plan_id, cause_kind, reason, state, requested_at,
         scheduled_for, started_at, finished_at, recovery_ms, consistency, last_position, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status, state = EXCLUDED.state,
         started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, recovery_ms = EXCLUDED.recovery_ms,
         consistency = EXCLUDED.consistency, last_position = EXCLUDED.last_position, updated_at = EXCLUDED.updated_at
       WHERE rollback.executions.version < EXCLUDED.version`,
      [
        id,
        last.streamVersion,
        state.status,
        state.type,
        state.scope,
        state.targetId,
        state.planId ?? null,
        state.cause.kind,
        state.cause.reason ?? null,
        JSON.stringify(state),
        state.requestedAt,
        state.scheduledFor ?? null,
        state.startedAt ?? null,
        state.finishedAt ?? null,
        state.recoveryMs ?? null,
        state.consistency === undefined ? null : state.consistency.verified ? 'verified' : 'violated',
        last.globalPosition.toString(),
        last.recordedAt,
      ],
    );
    this.written.delete(id);
    this.written.set(id, { version: last.streamVersion, position: last.globalPosition.toString(), state });
    if (this.written.size > 32) this.written.delete(this.written.keys().next().value!);
  }

  private async currentExecution(id: string, tx: SqlClient): Promise<{ state: Execution | null; version: number }> {
    const { rows } = await tx.query<{ version: number; last_position: string }>(
      'SELECT version, last_position::text AS last_position FROM rollback.executions WHERE id = $1 FOR UPDATE',
      [id],
    );
    const head = rows[0];
    if (!head) return { state: null, version: 0 };
    const kept = this.written.get(id);
    if (kept !== undefined && kept.version === head.version && kept.position === head.last_position) {
      return { state: structuredClone(kept.state), version: kept.version };
    }
    const { rows: full } = await tx.query<{ state: Execution }>('SELECT state FROM rollback.executions WHERE id = $1', [id]);
    return { state: full[0]!.state, version: head.version };
  }

  /** The target lock follows the execution's start and end. A held target fails the INSERT: the append rolls back. */
  private async applyLock(id: string, event: ExecutionEvent, at: Date, tx: SqlClient): Promise<void> {
    if (event.type === 'ExecutionStarted') {
      const { scope, targetId, priority, preempts } = event.data;
      if (preempts !== undefined) {
        const moved = await tx.query(
          'UPDATE rollback.active_targets SET execution_id = $1, priority = $2, since = $3 WHERE scope = $4 AND target_id = $5 AND execution_id = $6',
          [id, priority, at, scope, targetId, preempts],
        );
        if (moved.rowCount === 1) return;
      }
      await tx.query('INSERT INTO rollback.active_targets (scope, target_id, execution_id, priority, since) VALUES ($1, $2, $3, $4, $5)', [
        scope,
        targetId,
        id,
        priority,
        at,
      ]);
      return;
    }
    const ends: ReadonlySet<string> = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionCancelled', 'ExecutionPreempted']);
    if (ends.has(event.type)) await tx.query('DELETE FROM rollback.active_targets WHERE execution_id = $1', [id]);
  }
}

export const isTerminal = (status: string): boolean => TERMINAL_STATUSES.has(status as Execution['status']);
