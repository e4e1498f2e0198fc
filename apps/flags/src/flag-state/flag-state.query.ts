import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  flagStreamId,
  type FlagKeyQuery,
  type FlagSnapshot,
  type FlagView,
  type ListFlagsQuery,
  type SegmentsQuery,
} from '#rollgate/contracts';
import type { FlagDefinition, Segment } from '#rollgate/evaluation';
import type { SegmentUsage } from '../store/store.tokens.js';
import { foldEvents } from '#rollgate/commands';
import type { EventStore } from '#rollgate/event-store';
import { EVENT_STORE, PG_POOL } from '#rollgate/service-runtime';
import { flagAggregate } from '../flag/flag.aggregate.js';
import { FlagError, FlagErrorCodes } from '../flag/flag.errors.js';

interface FlagRow {
  definition: FlagDefinition;
  last_position: string;
  updated_at: Date;
}

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

  async list(query: ListFlagsQuery): Promise<FlagView[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
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
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} ORDER BY key`,
      params,
    );
    return rows.map(toView);
  }

  /**
   * One environment's view of every flag and segment, read in one snapshot so that `position` (the highest global
   * position included) describes exactly what was returned. Archived flags and flags not configured in this
   * environment are included (they evaluate off): an SDK tracks every flag's stream version, and a flag missing
   * from the snapshot would look like a gap at its next event. Other environments' configs are left out.
   */
  async snapshot(environment: string): Promise<FlagSnapshot> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const flags = await client.query<{ definition: FlagDefinition; last_position: string }>(
        `SELECT definition || jsonb_build_object('environments',
                  CASE WHEN definition->'environments' ? $1
                       THEN jsonb_build_object($1::text, definition->'environments'->$1)
                       ELSE '{}'::jsonb END) AS definition,
                last_position::text AS last_position
           FROM flags.flag_state ORDER BY key`,
        [environment],
      );
      const segments = await client.query<{ definition: Segment; last_position: string }>(
        'SELECT definition, last_position::text AS last_position FROM flags.segment_state WHERE definition IS NOT NULL ORDER BY key',
      );
      const position = await client.query<{ position: string }>(
        `SELECT GREATEST((SELECT COALESCE(max(last_position), 0) FROM flags.flag_state),
                         (SELECT COALESCE(max(last_position), 0) FROM flags.segment_state))::text AS position`,
      );
      await client.query('COMMIT');
      return {
        environment,
        position: position.rows[0]!.position,
        flags: flags.rows.map((row) => row.definition),
        segments: segments.rows.map((row) => row.definition),
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async segments(query: SegmentsQuery): Promise<Segment[]> {
    const { rows } = await this.pool.query<{ definition: Segment }>(
      `SELECT definition FROM flags.segment_state WHERE definition IS NOT NULL ${query.key ? 'AND key = $1' : ''} ORDER BY key`,
      query.key ? [query.key] : [],
    );
    return rows.map((row) => row.definition);
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
