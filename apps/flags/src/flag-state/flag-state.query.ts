import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import {
  decodeSnapshotCursor,
  encodeSnapshotCursor,
  flagStreamId,
  MAX_MEMBERS_PAGE,
  type FlagAsOf,
  type FlagKeyQuery,
  type FlagsAsOfQuery,
  type FlagSnapshot,
  type FlagSnapshotPage,
  type FlagView,
  type ListFlagsQuery,
  type Page,
  type SegmentMembersPage,
  type SegmentMembersQuery,
  type SegmentsQuery,
  type SegmentView,
  type SnapshotCursor,
} from '#rollgate/contracts';
import type { FlagDefinition, Segment } from '#rollgate/evaluation';
import type { SegmentUsage } from '../store/store.tokens.js';
import { foldEvents } from '#rollgate/commands';
import type { EventStore } from '#rollgate/event-store';
import { EVENT_STORE, PG_POOL } from '#rollgate/service-runtime';
import { flagAggregate } from '../flag/flag.aggregate.js';
import { segmentView } from '../segment/segment.view.js';
import { FlagError, FlagErrorCodes } from '../flag/flag.errors.js';

interface FlagRow {
  definition: FlagDefinition;
  last_position: string;
  updated_at: Date;
}

/** The definition with only the environment asked for ($1); the other environments' configs are not sent. */
const FLAG_IN_ENVIRONMENT = `definition || jsonb_build_object('environments',
  CASE WHEN definition->'environments' ? $1 THEN jsonb_build_object($1::text, definition->'environments'->$1) ELSE '{}'::jsonb END)`;

const SEGMENT_ROWS = 100;
const FLAG_ROWS = 1_000;

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/** The highest global position in the read models (what a snapshot reflects). */
const positionOf = async (client: PoolClient): Promise<string> =>
  (
    await client.query<{ position: string }>(
      `SELECT GREATEST((SELECT COALESCE(max(last_position), 0) FROM flags.flag_state),
                       (SELECT COALESCE(max(last_position), 0) FROM flags.segment_state))::text AS position`,
    )
  ).rows[0]!.position;

/**
 * The sum of every flag's and segment's stream version: each appended event adds one, so two reads with the same
 * revision saw the same state. (The position alone is not enough: a slow transaction can commit a lower position
 * after a higher one, leaving the maximum as it was.)
 */
const revisionOf = async (client: PoolClient): Promise<string> =>
  (
    await client.query<{ revision: string }>(
      `SELECT ((SELECT COALESCE(sum(version), 0) FROM flags.flag_state) + (SELECT COALESCE(sum(version), 0) FROM flags.segment_state))::text AS revision`,
    )
  ).rows[0]!.revision;

/** Bytes left on a page; the first item always goes in, so every page moves the cursor on. */
class PageBudget {
  private used: number;
  private items = 0;
  constructor(
    private readonly limit: number,
    overhead: number,
  ) {
    this.used = overhead;
  }

  take(bytes: number): boolean {
    if (this.items > 0 && this.used + bytes > this.limit) return false;
    this.used += bytes;
    this.items++;
    return true;
  }
}

/** As FLAG_IN_ENVIRONMENT, in memory: the definition with only that environment's config. */
const inEnvironment = (flag: FlagDefinition, environment: string): FlagDefinition => {
  const config = flag.environments[environment];
  return { ...flag, environments: config === undefined ? {} : { [environment]: config } };
};

const toView = (row: FlagRow): FlagView => ({
  flag: row.definition,
  position: row.last_position,
  updatedAt: row.updated_at.toISOString(),
});

/** Reads of the current-state read model (and, for `asOf`, of the log itself). */
@Injectable()
export class FlagStateQuery implements SegmentUsage {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async get(query: FlagKeyQuery): Promise<FlagView> {
    if (query.asOf !== undefined) return this.getAsOf(query.key, new Date(query.asOf));
    const { rows } = await this.pool.query<FlagRow>(
      'SELECT definition, last_position::text AS last_position, updated_at FROM flags.flag_state WHERE key = $1',
      [query.key],
    );
    if (!rows[0]) throw FlagError.notFound(query.key);
    return toView(rows[0]);
  }

  private async getAsOf(key: string, time: Date): Promise<FlagView> {
    const events = await this.store.readStream(flagStreamId(key), { asOf: { time } });
    const flag = foldEvents(flagAggregate, events).state;
    if (flag === null) throw new FlagError(FlagErrorCodes.notFound, `flag ${key} did not exist at ${time.toISOString()}`, { key, asOf: time.toISOString() });
    const last = events[events.length - 1]!;
    return { flag, position: last.globalPosition.toString(), updatedAt: last.recordedAt.toISOString() };
  }

  /** Each key's flag as of a time, from one read of the log; a page of what fits `maxBytes`, in the order asked. */
  async asOf(query: FlagsAsOfQuery, maxBytes = Infinity): Promise<Page<FlagAsOf>> {
    const keys = [...new Set(query.keys)];
    const streams = await this.store.readStreams(keys.map(flagStreamId), { asOf: { time: new Date(query.asOf) } });
    const items: FlagAsOf[] = [];
    const budget = new PageBudget(maxBytes, 200);
    for (const key of keys) {
      const state = foldEvents(flagAggregate, streams.get(flagStreamId(key)) ?? []).state;
      const item = { key, flag: state === null || query.environment === undefined ? state : inEnvironment(state, query.environment) };
      if (!budget.take(jsonBytes(item) + 1)) return { items, next: key };
      items.push(item);
    }
    return { items, next: null };
  }

  /** Flags matching the filters by key; with `paged`, one page of what fits `maxBytes` after `after`. */
  async list(query: ListFlagsQuery, maxBytes = Infinity): Promise<FlagView[] | Page<FlagView>> {
    if (query.paged !== true && query.after === undefined) return this.listAll(query);
    const views: FlagView[] = [];
    const budget = new PageBudget(maxBytes, 200);
    for (let after = query.after ?? ''; ; ) {
      const rows = await this.listAll(query, after, FLAG_ROWS);
      for (const view of rows) {
        if (!budget.take(jsonBytes(view) + 1)) return { items: views, next: after };
        views.push(view);
        after = view.flag.key;
      }
      if (rows.length < FLAG_ROWS) return { items: views, next: null };
    }
  }

  private async listAll(query: ListFlagsQuery, after?: string, limit?: number): Promise<FlagView[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (after !== undefined) {
      params.push(after);
      conditions.push(`key > $${params.length}`);
    }
    if (query.environment !== undefined) {
      params.push(query.environment);
      conditions.push(`definition->'environments' ? $${params.length}`);
    }
    if (query.tag !== undefined) {
      params.push(query.tag);
      conditions.push(`$${params.length} = ANY (tags)`);
    }
    if (query.status !== undefined) conditions.push(query.status === 'archived' ? 'archived' : 'NOT archived');
    const { rows } = await this.pool.query<FlagRow>(
      `SELECT definition, last_position::text AS last_position, updated_at FROM flags.flag_state
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY key ${limit === undefined ? '' : `LIMIT ${limit}`}`,
      params,
    );
    return rows.map(toView);
  }

  /**
   * One environment's view of every flag and segment, read in one snapshot so that `position` (the highest global
   * position included) describes exactly what was returned. Archived flags and flags not configured in this
   * environment are included (they evaluate off): an SDK tracks every flag's stream version, and a flag missing
   * from the snapshot would look like a gap at its next event. Other environments' configs are left out. Removed
   * segments come as `removedSegments` with their last version, so their older events are known to be old.
   */
  async snapshot(environment: string): Promise<FlagSnapshot> {
    return this.readOnly(async (client) => {
      const flags = await client.query<{ definition: FlagDefinition }>(
        `SELECT ${FLAG_IN_ENVIRONMENT} AS definition FROM flags.flag_state ORDER BY key`,
        [environment],
      );
      const segments = await client.query<{ key: string; version: number; definition: Segment | null }>(
        'SELECT key, version, definition FROM flags.segment_state ORDER BY key',
      );
      return {
        environment,
        position: await positionOf(client),
        flags: flags.rows.map((row) => row.definition),
        segments: segments.rows.flatMap((row) => (row.definition === null ? [] : [row.definition])),
        removedSegments: segments.rows.flatMap((row) => (row.definition === null ? [{ key: row.key, version: row.version }] : [])),
      };
    });
  }

  /**
   * One page of the snapshot (see FlagSnapshotPage): segments from the cursor on (a member list's members cut
   * across pages where the budget ends), then flags. Every page is its own read-only snapshot of the read models and
   * carries their position and revision (the sum of every stream version: any commit changes it), so a reader can
   * tell pages of one state from pages of two. A page holds at least one item, so paging always moves on.
   */
  async snapshotPage(environment: string, cursorText: string | undefined, pageBytes: number): Promise<FlagSnapshotPage> {
    return this.readOnly(async (client) => {
      const page: FlagSnapshotPage = {
        environment,
        position: await positionOf(client),
        revision: await revisionOf(client),
        segments: [],
        members: [],
        removedSegments: [],
        flags: [],
        next: null,
      };
      const budget = new PageBudget(pageBytes, jsonBytes(page));
      let cursor = decodeSnapshotCursor(cursorText);
      if (cursor.section === 'segments') {
        const next = await this.segmentsPage(client, page, budget, cursor.key, cursor.offset);
        if (next !== null) {
          page.next = encodeSnapshotCursor(next);
          return page;
        }
        cursor = { section: 'flags', after: '' };
      }
      const next = await this.flagsPage(client, page, budget, environment, cursor.after);
      page.next = next === null ? null : encodeSnapshotCursor(next);
      return page;
    });
  }

  /** Segments with key >= `from` into the page; the cursor to go on from when the budget ran out, else null. */
  private async segmentsPage(client: PoolClient, page: FlagSnapshotPage, budget: PageBudget, from: string, fromOffset: number): Promise<SnapshotCursor | null> {
    let offset = fromOffset;
    for (let after = from, inclusive = true; ; inclusive = false) {
      const { rows } = await client.query<{ key: string; version: number; definition: Segment | null; member_count: number }>(
        `SELECT key, version, definition - 'members' AS definition,
                COALESCE(jsonb_array_length(definition->'members'), 0) AS member_count
           FROM flags.segment_state WHERE key ${inclusive ? '>=' : '>'} $1 ORDER BY key LIMIT ${SEGMENT_ROWS}`,
        [after],
      );
      for (const row of rows) {
        after = row.key;
        if (row.definition === null) {
          const removed = { key: row.key, version: row.version };
          if (!budget.take(jsonBytes(removed) + 1)) return { section: 'segments', key: row.key, offset: 0 };
          page.removedSegments.push(removed);
          continue;
        }
        let definition: Segment | undefined;
        if (offset === 0) {
          definition = row.definition;
          if (!budget.take(jsonBytes(definition) + 1)) return { section: 'segments', key: row.key, offset: 0 };
          page.segments.push(definition);
        }
        if (row.member_count > offset) {
          const { rows: lists } = await client.query<{ members: string[] }>('SELECT definition->\'members\' AS members FROM flags.segment_state WHERE key = $1', [row.key]);
          const all = lists[0]!.members;
          const taken: string[] = [];
          while (offset < all.length && budget.take(jsonBytes(all[offset]) + 1)) taken.push(all[offset++]!);
          if (definition !== undefined) definition.members = taken;
          else if (taken.length > 0) {
            budget.take(jsonBytes({ segment: row.key, members: [] }) + 1);
            page.members.push({ segment: row.key, members: taken });
          }
          if (offset < all.length) return { section: 'segments', key: row.key, offset };
        }
        offset = 0;
      }
      if (rows.length < SEGMENT_ROWS) return null;
    }
  }

  /** Flags after `after` into the page; the cursor to go on from when the budget ran out, else null (the last page). */
  private async flagsPage(client: PoolClient, page: FlagSnapshotPage, budget: PageBudget, environment: string, after: string): Promise<SnapshotCursor | null> {
    for (let last = after; ; ) {
      const { rows } = await client.query<{ key: string; definition: FlagDefinition }>(
        `SELECT key, ${FLAG_IN_ENVIRONMENT} AS definition FROM flags.flag_state WHERE key > $2 ORDER BY key LIMIT ${FLAG_ROWS}`,
        [environment, last],
      );
      for (const row of rows) {
        if (!budget.take(jsonBytes(row.definition) + 1)) return { section: 'flags', after: last };
        page.flags.push(row.definition);
        last = row.key;
      }
      if (rows.length < FLAG_ROWS) return null;
    }
  }

  private async readOnly<T>(read: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await read(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Segment definitions; a member list comes without its members, with `memberCount` (read them with `segmentMembers`). */
  async segments(query: SegmentsQuery): Promise<SegmentView[]> {
    const { rows } = await this.pool.query<{ definition: Segment; member_count: number | null }>(
      `SELECT definition - 'members' AS definition, jsonb_array_length(definition->'members') AS member_count
         FROM flags.segment_state WHERE definition IS NOT NULL ${query.key ? 'AND key = $1' : ''} ORDER BY key`,
      query.key ? [query.key] : [],
    );
    return rows.map((row) => segmentView(row.definition, row.member_count ?? 0));
  }

  /** A page of a member list's members, at most `limit` and at most what fits a reply. */
  async segmentMembers(query: SegmentMembersQuery, maxBytes: number): Promise<SegmentMembersPage> {
    const { rows } = await this.pool.query<{ version: number; definition: Segment | null }>(
      'SELECT version, definition FROM flags.segment_state WHERE key = $1',
      [query.key],
    );
    const segment = rows[0]?.definition;
    if (!segment) throw new FlagError(FlagErrorCodes.segmentNotFound, `segment ${query.key} does not exist`, { key: query.key });
    const all = segment.members ?? [];
    const offset = Math.min(query.offset ?? 0, all.length);
    const limit = query.limit ?? MAX_MEMBERS_PAGE;
    const budget = new PageBudget(maxBytes, 200);
    const members: string[] = [];
    for (let i = offset; i < all.length && members.length < limit && budget.take(jsonBytes(all[i]) + 1); i++) members.push(all[i]!);
    const end = offset + members.length;
    return { key: query.key, version: rows[0]!.version, total: all.length, members, next: end < all.length ? end : null };
  }

  async flagsUsing(segmentKey: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ key: string }>(
      `SELECT key FROM flags.flag_state f
        WHERE EXISTS (SELECT 1 FROM jsonb_each(f.definition->'environments') env,
                                    jsonb_array_elements(COALESCE(env.value->'rules', '[]'::jsonb)) rule
                       WHERE COALESCE(rule->'segments', '[]'::jsonb) ? $1)
        ORDER BY key`,
      [segmentKey],
    );
    return rows.map((row) => row.key);
  }
}
