import type { Pool } from 'pg';
import { WakeableLoop } from '#rollgate/platform';
import { START, type AllPosition, type RecordedEvent } from './event-store.port.js';
import { advanceCheckpointWith, toRecordedEvent, type SqlClient } from './postgres-event-store.js';

/** An async read model: it writes only its own tables, inside the transaction the runner gives it. */
export interface Projection {
  readonly name: string;
  apply(events: readonly RecordedEvent[], tx: SqlClient): Promise<void>;
  /** Empties the read model before a rebuild. */
  reset(tx: SqlClient): Promise<void>;
}

export interface ProjectionRunnerOptions {
  batchSize?: number;
  idleDelayMs?: number;
  onError?: (error: unknown) => void;
}

const checkpointName = (projection: Projection): string => `projection:${projection.name}`;

/**
 * Moves a projection along the gap-free order. Each batch is read, applied and checkpointed in one transaction,
 * so the read model and its checkpoint always agree (exactly-once effects). The read comes first: a transaction
 * that already holds an xid would hold back its own snapshot xmin. A second runner loses the checkpoint CAS and
 * rolls back, so running two is safe, only wasteful.
 */
export class ProjectionRunner {
  private readonly batchSize: number;
  private readonly idleDelayMs: number;
  private readonly loop: WakeableLoop;

  constructor(
    private readonly pool: Pool,
    private readonly projection: Projection,
    private readonly options: ProjectionRunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.idleDelayMs = options.idleDelayMs ?? 100;
    this.loop = new WakeableLoop(async () => ((await this.runOnce()) === 0 ? this.idleDelayMs : 0), {
      onError: options.onError,
      errorDelayMs: this.idleDelayMs * 10,
    });
  }

  /** Applies one batch; returns how many events it applied (0 when caught up or when another runner won). */
  async runOnce(): Promise<number> {
    const name = checkpointName(this.projection);
    await this.pool.query('INSERT INTO es.checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows: checkpointRows } = await client.query<{ last_tx: string; last_position: string }>(
        'SELECT last_tx::text AS last_tx, last_position FROM es.checkpoints WHERE name = $1',
        [name],
      );
      const from: AllPosition = checkpointRows[0]
        ? { transactionId: BigInt(checkpointRows[0].last_tx), globalPosition: BigInt(checkpointRows[0].last_position) }
        : START;
      const { rows } = await client.query('SELECT * FROM es.read_all_after($1::xid8, $2, $3)', [
        from.transactionId.toString(),
        from.globalPosition.toString(),
        this.batchSize,
      ]);
      const events = rows.map((row) => toRecordedEvent(row as Parameters<typeof toRecordedEvent>[0]));
      if (events.length === 0) {
        await client.query('ROLLBACK');
        return 0;
      }
      await this.projection.apply(events, client as unknown as SqlClient);
      const last = events[events.length - 1]!;
      const to = { transactionId: last.transactionId, globalPosition: last.globalPosition };
      if (!(await advanceCheckpointWith(client as unknown as SqlClient, name, from, to))) {
        await client.query('ROLLBACK');
        return 0;
      }
      await client.query('COMMIT');
      return events.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Applies batches until the reader sees nothing new. */
  async catchUp(): Promise<number> {
    let total = 0;
    for (let applied = await this.runOnce(); applied > 0; applied = await this.runOnce()) total += applied;
    return total;
  }

  /** Drops the read model and its checkpoint in one transaction, then replays the whole log. */
  async rebuild(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await this.projection.reset(client as unknown as SqlClient);
      await client.query(
        `INSERT INTO es.checkpoints (name) VALUES ($1)
         ON CONFLICT (name) DO UPDATE SET last_tx = '0'::xid8, last_position = 0, updated_at = now()`,
        [checkpointName(this.projection)],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return this.catchUp();
  }

  start(): void {
    this.loop.start();
  }

  /** Ends the idle wait: the next batch is read now (call after a commit the projection should see soon). */
  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
