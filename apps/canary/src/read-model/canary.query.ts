import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { CanaryState, ListCanariesQuery } from '#rollgate/contracts';
import { PG_POOL } from '#rollgate/service-runtime';

const DEFAULT_LIMIT = 100;

/** Reads of `canary.canaries`. */
@Injectable()
export class CanaryQueries {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async list(query: ListCanariesQuery): Promise<CanaryState[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.flagKey !== undefined) where.push(`flag_key = $${params.push(query.flagKey)}`);
    if (query.status !== undefined) where.push(`status = $${params.push(query.status)}`);
    if (query.active !== undefined) where.push(`active = $${params.push(query.active)}`);
    const { rows } = await this.pool.query<{ state: CanaryState }>(
      `SELECT state FROM canary.canaries ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id LIMIT $${params.push(query.limit ?? DEFAULT_LIMIT)}`,
      params,
    );
    return rows.map((row) => row.state);
  }

  /** Every canary that may still act: the monitor's working set. */
  async active(): Promise<CanaryState[]> {
    const { rows } = await this.pool.query<{ state: CanaryState }>(
      'SELECT state FROM canary.canaries WHERE active ORDER BY created_at',
    );
    return rows.map((row) => row.state);
  }

  async activeOnFlag(flagKey: string): Promise<CanaryState | undefined> {
    const { rows } = await this.pool.query<{ state: CanaryState }>(
      'SELECT state FROM canary.canaries WHERE flag_key = $1 AND active',
      [flagKey],
    );
    return rows[0]?.state;
  }
}
