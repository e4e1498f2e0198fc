import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { foldEvents, streamIdOf } from '#rollgate/commands';
import { decodeAuditCursor, encodeAuditCursor, MAX_PAGE_SIZE } from '#rollgate/contracts';
import { CLOCK, PG_POOL, type Clock } from '#rollgate/service-runtime';
import { TokenTable } from '../auth/token-table.js';
import type { Role } from '../auth/principal.js';
import { apiTokenAggregate, type ApiTokenEvent } from './api-token.decider.js';
import type { ApiTokenAuditQueryDto, ListApiTokensQueryDto } from './api-token.dto.js';
import { DEFAULT_TOKEN_PAGE } from './api-token.dto.js';
import { TokenError } from './api-token.errors.js';
import {
  presentChange,
  presentToken,
  presentTokenRecord,
  type ApiTokenBody,
  type ApiTokenRecord,
  type ApiTokenRecordBody,
} from './api-token.presenter.js';

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  issued_at: Date;
  expires_at: Date | null;
  issued_by: string;
  environment: string | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  version: number;
  issued_position: string;
  last_used_at: Date | null;
}

interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_version: string;
  event_type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

/** An entry of GET /api/v1/audit/tokens: the shape of GET /api/v1/audit's entries, `key` being the token id. */
export interface ApiTokenAuditEntry {
  key: string;
  version: number;
  event_type: string;
  actor: string | null;
  reason: string | null;
  command_id: string | null;
  correlation_id: string | null;
  recorded_at: string;
  global_position: string;
  change: Record<string, unknown>;
  before: ApiTokenRecordBody | null;
  after: ApiTokenRecordBody | null;
}

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

const recordOf = (row: TokenRow): ApiTokenRecord => ({
  id: row.id,
  name: row.name,
  role: row.role,
  issuedAt: row.issued_at.toISOString(),
  expiresAt: iso(row.expires_at),
  issuedBy: row.issued_by,
  environment: row.environment,
  revokedAt: iso(row.revoked_at),
  revokedBy: row.revoked_by,
  version: row.version,
});

const TOKEN_COLUMNS = `t.id, t.name, t.role, t.issued_at, t.expires_at, t.issued_by, t.environment, t.revoked_at, t.revoked_by, t.version,
  t.issued_position::text AS issued_position, u.last_used_at`;

/** The token list, one token, and the token audit trail: reads of the gateway's own database. */
@Injectable()
export class ApiTokenQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly table: TokenTable,
  ) {}

  /**
   * Tokens in the order they were issued, `limit` a page. A token issued while a client pages may be missing from
   * that listing (as with any list); the audit trail is the complete record.
   */
  async list(query: ListApiTokensQueryDto): Promise<{ tokens: ApiTokenBody[]; next_cursor: string | null }> {
    const limit = Math.min(query.limit ?? DEFAULT_TOKEN_PAGE, MAX_PAGE_SIZE);
    const now = this.clock();
    const conditions: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]): void => {
      let clause = sql;
      for (const value of values) {
        params.push(value);
        clause = clause.replace('?', `$${params.length}`);
      }
      conditions.push(clause);
    };
    if (query.role !== undefined) add('t.role = ?', query.role);
    if (query.status === 'revoked') add('t.revoked_at IS NOT NULL');
    if (query.status === 'expired') add('t.revoked_at IS NULL AND t.expires_at <= ?', now);
    if (query.status === 'active') add('t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)', now);
    if (query.cursor !== undefined) add('t.issued_position > ?', query.cursor);
    params.push(limit + 1);
    const { rows } = await this.pool.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS}
         FROM gateway.api_tokens t LEFT JOIN gateway.api_token_usage u ON u.token_id = t.id
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY t.issued_position LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const next = rows.length > limit ? page[page.length - 1]!.issued_position : null;
    return { tokens: page.map((row) => this.present(row, now)), next_cursor: next };
  }

  async get(id: string): Promise<ApiTokenBody> {
    const { rows } = await this.pool.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM gateway.api_tokens t LEFT JOIN gateway.api_token_usage u ON u.token_id = t.id WHERE t.id = $1`,
      [id],
    );
    if (rows[0] === undefined) throw TokenError.notFound(id);
    return this.present(rows[0], this.clock());
  }

  /**
   * Every token event in the log's gap-free order (transaction id, then global position; only transactions older
   * than every running one, as es.read_all_after reads), so paging by the `<tx>.<position>` cursor never skips or
   * repeats an entry while tokens are issued. Straight from es.events: the log is the audit trail.
   */
  async audit(query: ApiTokenAuditQueryDto): Promise<{ entries: ApiTokenAuditEntry[]; next_cursor: string | null }> {
    const limit = Math.min(query.limit ?? DEFAULT_TOKEN_PAGE, MAX_PAGE_SIZE);
    const conditions = [`e.stream_id LIKE 'token-%'`, 'e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())'];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (query.key !== undefined) add('e.stream_id = ?', streamIdOf(apiTokenAggregate, query.key));
    if (query.actor !== undefined) add(`e.metadata->>'actor' = ?`, query.actor);
    if (query.since !== undefined) add('e.recorded_at >= ?', new Date(query.since));
    if (query.until !== undefined) add('e.recorded_at < ?', new Date(query.until));
    if (query.cursor !== undefined) {
      const after = decodeAuditCursor(query.cursor);
      params.push(after.transactionId.toString(), after.globalPosition.toString());
      conditions.push(
        `(e.transaction_id, e.global_position) > ($${params.length - 1}::xid8, $${params.length}::bigint)`,
      );
    }
    params.push(limit + 1);
    const { rows } = await this.pool.query<EventRow>(
      `SELECT e.global_position::text AS global_position, e.transaction_id::text AS transaction_id, e.stream_id,
              e.stream_version, e.event_type, e.data, e.metadata, e.recorded_at
         FROM es.events e WHERE ${conditions.join(' AND ')}
        ORDER BY e.transaction_id, e.global_position LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const states = await this.statesByVersion([...new Set(page.map((row) => row.stream_id))]);
    const entries = page.map((row): ApiTokenAuditEntry => {
      const version = Number(row.stream_version);
      const history = states.get(row.stream_id) ?? [];
      const before = history[version - 2];
      const after = history[version - 1];
      return {
        key: row.stream_id.slice('token-'.length),
        version,
        event_type: row.event_type,
        actor: text(row.metadata['actor']),
        reason: text(row.metadata['reason']),
        command_id: text(row.metadata['commandId']),
        correlation_id: text(row.metadata['correlationId']),
        recorded_at: row.recorded_at.toISOString(),
        global_position: row.global_position,
        change: presentChange({ type: row.event_type, data: row.data } as ApiTokenEvent),
        before: before === undefined ? null : before,
        after: after === undefined ? null : after,
      };
    });
    const last = page[page.length - 1];
    const next =
      rows.length > limit && last !== undefined
        ? encodeAuditCursor({
            transactionId: BigInt(last.transaction_id),
            globalPosition: BigInt(last.global_position),
          })
        : null;
    return { entries, next_cursor: next };
  }

  /** Each stream's state after each of its versions (index version - 1), without the hash. */
  private async statesByVersion(streamIds: readonly string[]): Promise<Map<string, ApiTokenRecordBody[]>> {
    const states = new Map<string, ApiTokenRecordBody[]>();
    if (streamIds.length === 0) return states;
    const { rows } = await this.pool.query<EventRow>(
      'SELECT stream_id, stream_version, event_type, data FROM es.events WHERE stream_id = ANY($1) ORDER BY stream_id, stream_version',
      [streamIds],
    );
    let folded = { state: apiTokenAggregate.initialState, version: 0 };
    let history: ApiTokenRecordBody[] = [];
    for (const row of rows) {
      if (!states.has(row.stream_id)) {
        folded = { state: apiTokenAggregate.initialState, version: 0 };
        history = [];
        states.set(row.stream_id, history);
      }
      const event = {
        streamId: row.stream_id,
        streamVersion: Number(row.stream_version),
        type: row.event_type,
        data: row.data,
      };
      folded = foldEvents(apiTokenAggregate, [event], folded);
      if (folded.state === null) continue;
      const { tokenHash: _hash, ...record } = folded.state;
      history.push(presentTokenRecord(record));
    }
    return states;
  }

  private present(row: TokenRow, now: Date): ApiTokenBody {
    // This replica's unwritten last use is newer than the stored one (uses are written in batches).
    const pending = this.table.pendingUse(row.id);
    const stored = row.last_used_at?.getTime();
    const lastUsed = pending !== undefined && (stored === undefined || pending > stored) ? pending : stored;
    return presentToken(recordOf(row), lastUsed === undefined ? null : new Date(lastUsed).toISOString(), now);
  }
}
