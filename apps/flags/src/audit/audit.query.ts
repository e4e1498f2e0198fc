import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  decodeAuditCursor,
  encodeAuditCursor,
  flagStreamId,
  MAX_PAGE_SIZE,
  type AuditEntry,
  type AuditQuery,
  type FlagHistoryQuery,
  type FlagState,
  type Page,
} from '#rollgate/contracts';
import type { FlagDefinition } from '#rollgate/evaluation';
import type { RecordedEvent } from '#rollgate/event-store';
import { FlagError } from '../flag/flag.errors.js';
import { evolveStored } from '#rollgate/commands';
import type { EventStore } from '#rollgate/event-store';
import { EVENT_STORE, PG_POOL } from '#rollgate/service-runtime';
import { flagAggregate } from '../flag/flag.aggregate.js';

const DEFAULT_PAGE_SIZE = 100;

interface AuditRow {
  key: string;
  version: number;
  event_type: string;
  actor: string | null;
  reason: string | null;
  command_id: string | null;
  correlation_id: string | null;
  recorded_at: Date;
  global_position: string;
  transaction_id: string;
  change: unknown;
  before: FlagDefinition | null;
  after: FlagDefinition | null;
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export const auditEntryOf = (key: string, event: RecordedEvent, before: FlagState, after: FlagState): AuditEntry => ({
  key,
  version: event.streamVersion,
  eventType: event.type,
  actor: text(event.metadata.actor),
  reason: text(event.metadata.reason),
  commandId: text(event.metadata.commandId),
  correlationId: text(event.metadata.correlationId),
  recordedAt: event.recordedAt.toISOString(),
  globalPosition: event.globalPosition.toString(),
  change: event.data,
  before,
  after,
});

const fromRow = (row: AuditRow): AuditEntry => ({
  key: row.key,
  version: row.version,
  eventType: row.event_type,
  actor: row.actor,
  reason: row.reason,
  commandId: row.command_id,
  correlationId: row.correlation_id,
  recordedAt: row.recorded_at.toISOString(),
  globalPosition: row.global_position,
  change: row.change,
  before: row.before,
  after: row.after,
});

/**
 * Entries carry two whole definitions each (up to 256 KiB apiece): a page stops early, at what one bus reply
 * holds, and `next` goes on from there. The first entry always goes in.
 */
class ReplyBudget {
  private used = 512;
  private items = 0;
  constructor(private readonly maxBytes: number) {}

  take(entry: unknown): boolean {
    if (this.maxBytes === Infinity) return true;
    const bytes = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (this.items > 0 && this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    this.items++;
    return true;
  }
}

@Injectable()
export class AuditQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  /**
   * One flag's history straight from its stream (never behind the log, unlike the async audit table): oldest
   * first, `limit` entries from `fromVersion`; `next` is the version to continue from.
   */
  async history(query: FlagHistoryQuery, maxBytes = Infinity): Promise<Page<AuditEntry>> {
    const fromVersion = query.fromVersion ?? 1;
    const limit = Math.min(query.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    // The "before" of the first entry needs every earlier event folded.
    const events = await this.store.readStream(flagStreamId(query.key), { toVersion: fromVersion + limit });
    if (events.length === 0) throw FlagError.notFound(query.key);
    const items: AuditEntry[] = [];
    const budget = new ReplyBudget(maxBytes);
    let state: FlagState = null;
    let full = false;
    for (const event of events) {
      const after: FlagState = evolveStored(flagAggregate, state, event);
      if (event.streamVersion >= fromVersion && items.length < limit && !full) {
        const entry = auditEntryOf(query.key, event, state, after);
        if (budget.take(entry)) items.push(entry);
        else full = true;
      }
      state = after;
    }
    const nextVersion = fromVersion + items.length;
    const more = full || events.length > fromVersion - 1 + limit;
    return { items, next: more ? String(nextVersion) : null };
  }

  /**
   * The audit trail across flags in the log's gap-free order (transaction id, then global position: numeric, as
   * es.read_all_after reads), filtered by key, actor and time; `next` encodes the last entry's pair.
   */
  async audit(query: AuditQuery, maxBytes = Infinity): Promise<Page<AuditEntry>> {
    const limit = Math.min(query.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (query.key !== undefined) add('key = ?', query.key);
    if (query.actor !== undefined) add('actor = ?', query.actor);
    if (query.since !== undefined) add('recorded_at >= ?', new Date(query.since));
    if (query.until !== undefined) add('recorded_at < ?', new Date(query.until));
    if (query.after !== undefined) {
      const after = decodeAuditCursor(query.after);
      params.push(after.transactionId.toString(), after.globalPosition.toString());
      conditions.push(`(a.transaction_id, a.global_position) > ($${params.length - 1}::xid8, $${params.length}::bigint)`);
    }
    params.push(limit + 1);
    // Ordered by the table's columns (a.), never by the text aliases of the select list.
    const { rows } = await this.pool.query<AuditRow>(
      `SELECT a.key, a.version, a.event_type, a.actor, a.reason, a.command_id, a.correlation_id, a.recorded_at,
              a.global_position::text AS global_position, a.transaction_id::text AS transaction_id, a.change, a.before,
              a.after
         FROM flags.audit a ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY a.transaction_id, a.global_position LIMIT $${params.length}`,
      params,
    );
    const budget = new ReplyBudget(maxBytes);
    let page = rows.slice(0, limit);
    const fitting = page.findIndex((row) => !budget.take(row));
    if (fitting >= 0) page = page.slice(0, fitting);
    const last = page[page.length - 1];
    const next =
      (rows.length > page.length) && last !== undefined
        ? encodeAuditCursor({ transactionId: BigInt(last.transaction_id), globalPosition: BigInt(last.global_position) })
        : null;
    return { items: page.map(fromRow), next };
  }
}
