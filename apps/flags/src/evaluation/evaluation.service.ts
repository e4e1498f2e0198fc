import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  flagStreamId,
  segmentStreamId,
  type AnalyticsQuery,
  type AnalyticsResult,
  type EvaluateFlagQuery,
} from '#rollgate/contracts';
import { EvaluationEngine, type EvaluationResult, type FlagDefinition, type JsonValue, type Segment } from '#rollgate/evaluation';
import { segmentKeysIn } from '../flag/flag.shape.js';
import { foldEvents } from '#rollgate/commands';
import type { EventStore } from '#rollgate/event-store';
import { EVENT_STORE, PG_POOL } from '#rollgate/service-runtime';
import { flagAggregate, segmentAggregate } from '../flag/flag.aggregate.js';
import { EvaluationCounter } from './evaluation-counter.js';
import { FlagFeed } from './flag-feed.js';

export interface EvaluationReply extends EvaluationResult<JsonValue | null> {
  key: string;
  environment: string;
  /** Present for an as-of evaluation: the time it was evaluated at (also its clock for gradual ramps). */
  asOf?: string;
}

const DAY_MS = 86_400_000;

/** Whether a result counts as "on" for the enable rate. */
export const isOn = (flag: FlagDefinition | undefined, result: EvaluationResult<unknown>): boolean => {
  if (result.reason === 'ERROR' || result.reason === 'DISABLED') return false;
  if (flag?.type === 'experiment') return result.variant !== undefined && result.variant !== flag.offVariant;
  return result.value === true;
};

@Injectable()
export class EvaluationService {
  constructor(
    private readonly feed: FlagFeed,
    private readonly counter: EvaluationCounter,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async evaluate(query: EvaluateFlagQuery): Promise<EvaluationReply> {
    // No default: the engine checks no type and an unknown flag answers null.
    const defaultValue = query.defaultValue as JsonValue | undefined;
    if (query.asOf !== undefined) return this.evaluateAsOf(query, defaultValue, new Date(query.asOf));
    const result = this.feed.engine(query.environment).evaluate(query.key, query.context, defaultValue as JsonValue);
    if (result.errorCode !== 'FLAG_NOT_FOUND') {
      this.counter.record(query.key, query.environment, result.variant, result.value, isOn(this.feed.flag(query.key), result));
    }
    return { ...result, value: result.value ?? null, key: query.key, environment: query.environment };
  }

  /** What was served then: the flag and its segments as of that time, with the clock at that time. */
  private async evaluateAsOf(query: EvaluateFlagQuery, defaultValue: JsonValue | undefined, asOf: Date): Promise<EvaluationReply> {
    const events = await this.store.readStream(flagStreamId(query.key), { asOf: { time: asOf } });
    const flag = foldEvents(flagAggregate, events).state;
    const segments: Segment[] = [];
    for (const key of segmentKeysIn(flag)) {
      const segmentEvents = await this.store.readStream(segmentStreamId(key), { asOf: { time: asOf } });
      const segment = foldEvents(segmentAggregate, segmentEvents).state;
      if (segment !== null) segments.push(segment);
    }
    const engine = new EvaluationEngine(query.environment, { clock: () => asOf.getTime() });
    engine.load({ environment: query.environment, flags: flag === null ? [] : [flag], segments });
    const result = engine.evaluate(query.key, query.context, defaultValue as JsonValue, asOf.getTime());
    return { ...result, value: result.value ?? null, key: query.key, environment: query.environment, asOf: asOf.toISOString() };
  }

  async analytics(query: AnalyticsQuery): Promise<AnalyticsResult> {
    const granularity = query.granularity ?? 'minute';
    const since = new Date(query.since);
    const until = query.until !== undefined ? new Date(query.until) : new Date(since.getTime() + DAY_MS);
    const params: unknown[] = [granularity, since, until];
    const conditions = ['bucket >= $2', 'bucket < $3'];
    if (query.key !== undefined) {
      params.push(query.key);
      conditions.push(`flag_key = $${params.length}`);
    }
    if (query.environment !== undefined) {
      params.push(query.environment);
      conditions.push(`environment = $${params.length}`);
    }
    const { rows } = await this.pool.query<{
      key: string; environment: string; variant: string; value: string; bucket: Date; count: string; enabled: string;
    }>(
      `SELECT flag_key AS key, environment, variant, value, date_trunc($1, bucket) AS bucket,
              sum(count)::text AS count, sum(CASE WHEN enabled THEN count ELSE 0 END)::text AS enabled
         FROM flags.evaluation_counts WHERE ${conditions.join(' AND ')}
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 5, 1, 2, 3, 4`,
      params,
    );
    const totals = new Map<string, { key: string; environment: string; count: number; enabled: number; enabledRate: number }>();
    for (const row of rows) {
      const id = `${row.key}\u0000${row.environment}`;
      const total = totals.get(id) ?? { key: row.key, environment: row.environment, count: 0, enabled: 0, enabledRate: 0 };
      total.count += Number(row.count);
      total.enabled += Number(row.enabled);
      totals.set(id, total);
    }
    for (const total of totals.values()) total.enabledRate = total.count === 0 ? 0 : total.enabled / total.count;
    return {
      granularity,
      since: since.toISOString(),
      until: until.toISOString(),
      rows: rows.map((row) => ({
        key: row.key,
        environment: row.environment,
        variant: row.variant === '' ? null : row.variant,
        value: row.value,
        bucket: row.bucket.toISOString(),
        count: Number(row.count),
      })),
      totals: [...totals.values()],
    };
  }
}
