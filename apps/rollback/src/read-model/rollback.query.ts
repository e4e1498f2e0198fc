import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  decodeAuditCursor,
  encodeAuditCursor,
  type Execution,
  type ExecutionSummary,
  type ListExecutionsQuery,
  type ListPlansQuery,
  type Page,
  type RollbackAuditEntry,
  type RollbackAuditQuery,
  type RollbackMetrics,
  type RollbackMetricsQuery,
  type RollbackPlan,
} from '#rollgate/contracts';
import { PG_POOL } from '#rollgate/service-runtime';
import type { TargetHolder } from '../execution/execution.decider.js';
import { RollbackError } from '../rollback.errors.js';

const DEFAULT_LIMIT = 100;
const DAY_MS = 86_400_000;

const summaryOf = (state: Execution): ExecutionSummary => ({
  id: state.id,
  type: state.type,
  scope: state.scope,
  targetId: state.targetId,
  planId: state.planId ?? null,
  status: state.status,
  cause: { kind: state.cause.kind, actor: state.cause.actor, ...(state.cause.reason === undefined ? {} : { reason: state.cause.reason }) },
  steps: {
    total: state.steps.length,
    succeeded: state.steps.filter((step) => step.status === 'succeeded').length,
    failed: state.steps.filter((step) => step.status === 'failed').length,
  },
  requestedAt: state.requestedAt,
  scheduledFor: state.scheduledFor ?? null,
  startedAt: state.startedAt ?? null,
  finishedAt: state.finishedAt ?? null,
  recoveryMs: state.recoveryMs ?? null,
  consistency: state.consistency === undefined ? null : state.consistency.verified ? 'verified' : 'violated',
});

const percentile = (sorted: readonly number[], p: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Reads of the rollback read models (and, for the audit trail, of the log itself). */
@Injectable()
export class RollbackQueries {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async plan(id: string): Promise<RollbackPlan> {
    const { rows } = await this.pool.query<{ definition: RollbackPlan }>('SELECT definition FROM rollback.plans WHERE id = $1', [id]);
    if (!rows[0]) throw RollbackError.planNotFound(id);
    return rows[0].definition;
  }

  async plans(query: ListPlansQuery): Promise<RollbackPlan[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (query.scope !== undefined) add('scope = ?', query.scope);
    if (query.targetId !== undefined) add('target_id = ?', query.targetId);
    if (query.rollbackType !== undefined) add('rollback_type = ?', query.rollbackType);
    if (query.status !== undefined) conditions.push(query.status === 'archived' ? 'archived' : 'NOT archived');
    const { rows } = await this.pool.query<{ definition: RollbackPlan }>(
      `SELECT definition FROM rollback.plans ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY id`,
      params,
    );
    return rows.map((row) => row.definition);
  }

  async execution(id: string): Promise<Execution> {
    const { rows } = await this.pool.query<{ state: Execution }>('SELECT state FROM rollback.executions WHERE id = $1', [id]);
    if (!rows[0]) throw RollbackError.executionNotFound(id);
    return rows[0].state;
  }

  async executions(query: ListExecutionsQuery): Promise<ExecutionSummary[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (query.status !== undefined) add('status = ?', query.status);
    if (query.type !== undefined) add('type = ?', query.type);
    if (query.scope !== undefined) add('scope = ?', query.scope);
    if (query.targetId !== undefined) add('target_id = ?', query.targetId);
    if (query.planId !== undefined) add('plan_id = ?', query.planId);
    if (query.since !== undefined) add('requested_at >= ?', query.since);
    if (query.until !== undefined) add('requested_at < ?', query.until);
    params.push(query.limit ?? DEFAULT_LIMIT);
    const { rows } = await this.pool.query<{ state: Execution }>(
      `SELECT state FROM rollback.executions ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY requested_at DESC, id LIMIT $${params.length}`,
      params,
    );
    return rows.map((row) => summaryOf(row.state));
  }

  /** Who holds a target now. */
  async holder(scope: string, targetId: string): Promise<TargetHolder | null> {
    const { rows } = await this.pool.query<{ execution_id: string; priority: number }>(
      'SELECT execution_id, priority FROM rollback.active_targets WHERE scope = $1 AND target_id = $2',
      [scope, targetId],
    );
    return rows[0] ? { executionId: rows[0].execution_id, priority: rows[0].priority } : null;
  }

  /** The executor's work: running executions, and scheduled ones due by `horizon` (with their time). */
  async unfinished(horizon: Date): Promise<Array<{ id: string; status: string; due: Date | null }>> {
    const { rows } = await this.pool.query<{ id: string; status: string; scheduled_for: Date | null }>(
      `SELECT id, status, scheduled_for FROM rollback.executions
        WHERE status = 'running' OR (status = 'scheduled' AND scheduled_for <= $1)
        ORDER BY requested_at`,
      [horizon],
    );
    return rows.map((row) => ({ id: row.id, status: row.status, due: row.scheduled_for }));
  }

  /** The next scheduled time after `after`, to sleep until. */
  async nextDue(): Promise<Date | null> {
    const { rows } = await this.pool.query<{ next: Date | null }>(`SELECT min(scheduled_for) AS next FROM rollback.executions WHERE status = 'scheduled'`);
    return rows[0]?.next ?? null;
  }

  /** The seed's rollback metrics: frequency, reasons, success, recovery time, step durations, consistency impact. */
  async metrics(query: RollbackMetricsQuery, now: Date): Promise<RollbackMetrics> {
    const until = query.until ?? now.toISOString();
    const since = query.since ?? new Date(Date.parse(until) - 30 * DAY_MS).toISOString();
    const { rows } = await this.pool.query<{ state: Execution }>(
      'SELECT state FROM rollback.executions WHERE requested_at >= $1 AND requested_at < $2',
      [since, until],
    );
    const count = (values: string[]): Record<string, number> => values.reduce<Record<string, number>>((acc, value) => ({ ...acc, [value]: (acc[value] ?? 0) + 1 }), {});
    const states = rows.map((row) => row.state);
    const finished = states.filter((state) => ['succeeded', 'failed', 'cancelled', 'preempted'].includes(state.status));
    const recoveries = states.flatMap((state) => (state.recoveryMs === undefined ? [] : [state.recoveryMs])).sort((a, b) => a - b);
    const durations = new Map<string, number[]>();
    for (const state of states) {
      for (const step of state.steps) {
        if (step.durationMs === undefined) continue;
        const list = durations.get(step.type) ?? [];
        list.push(step.durationMs);
        durations.set(step.type, list);
      }
    }
    const reasons = count(states.flatMap((state) => (state.cause.reason === undefined ? [] : [state.cause.reason])));
    const perDay = count(states.map((state) => state.requestedAt.slice(0, 10)));
    return {
      since,
      until,
      executions: states.length,
      byType: count(states.map((state) => state.type)),
      byScope: count(states.map((state) => state.scope)),
      byOutcome: count(states.map((state) => state.status)),
      byCause: count(states.map((state) => state.cause.kind)),
      topReasons: Object.entries(reasons)
        .map(([reason, n]) => ({ reason, count: n }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
        .slice(0, 10),
      successRate: finished.length === 0 ? null : finished.filter((state) => state.status === 'succeeded').length / finished.length,
      recoveryMs: { count: recoveries.length, p50: percentile(recoveries, 50), p95: percentile(recoveries, 95), max: recoveries.at(-1) ?? null },
      stepDurationsMs: Object.fromEntries(
        [...durations].map(([type, list]) => {
          const sorted = [...list].sort((a, b) => a - b);
          return [type, { count: sorted.length, avg: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length), p95: percentile(sorted, 95)! }];
        }),
      ),
      consistencyViolations: states.filter((state) => state.consistency?.verified === false).length,
      perDay: Object.entries(perDay)
        .map(([day, n]) => ({ day, count: n }))
        .sort((a, b) => a.day.localeCompare(b.day)),
    };
  }

  /** The rollback service's events in the log's gap-free order, as audit entries (who, what, when, why). */
  async audit(query: RollbackAuditQuery): Promise<Page<RollbackAuditEntry>> {
    const conditions = [`stream_id LIKE 'rollback-%'`, 'transaction_id < pg_snapshot_xmin(pg_current_snapshot())'];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]): void => {
      let text = sql;
      for (const value of values) {
        params.push(value);
        text = text.replace('?', `$${params.length}`);
      }
      conditions.push(text);
    };
    if (query.id !== undefined) add('stream_id IN (?, ?)', `rollback-${query.id}`, `rollback-plan-${query.id}`);
    if (query.actor !== undefined) add(`metadata->>'actor' = ?`, query.actor);
    if (query.since !== undefined) add('recorded_at >= ?', query.since);
    if (query.until !== undefined) add('recorded_at < ?', query.until);
    if (query.after !== undefined) {
      const cursor = decodeAuditCursor(query.after);
      add('(transaction_id, global_position) > (?::xid8, ?)', cursor.transactionId.toString(), cursor.globalPosition.toString());
    }
    const limit = query.limit ?? DEFAULT_LIMIT;
    params.push(limit + 1);
    const { rows } = await this.pool.query<{
      stream_id: string;
      stream_version: string;
      event_type: string;
      metadata: Record<string, unknown>;
      data: unknown;
      recorded_at: Date;
      global_position: string;
      transaction_id: string;
    }>(
      `SELECT stream_id, stream_version, event_type, metadata, data, recorded_at, global_position::text AS global_position,
              transaction_id::text AS transaction_id
         FROM es.events WHERE ${conditions.join(' AND ')}
        ORDER BY transaction_id, global_position LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
    const items = page.map((row): RollbackAuditEntry => {
      const plan = row.stream_id.startsWith('rollback-plan-');
      return {
        stream: plan ? 'plan' : 'execution',
        id: row.stream_id.slice(plan ? 'rollback-plan-'.length : 'rollback-'.length),
        version: Number(row.stream_version),
        eventType: row.event_type,
        actor: text(row.metadata['actor']),
        reason: text(row.metadata['reason']),
        commandId: text(row.metadata['commandId']),
        correlationId: text(row.metadata['correlationId']),
        recordedAt: row.recorded_at.toISOString(),
        globalPosition: row.global_position,
        change: row.data,
      };
    });
    const last = page.at(-1);
    const next =
      rows.length > limit && last !== undefined
        ? encodeAuditCursor({ transactionId: BigInt(last.transaction_id), globalPosition: BigInt(last.global_position) })
        : null;
    return { items, next };
  }
}
