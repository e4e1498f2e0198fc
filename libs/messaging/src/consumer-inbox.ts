import type pg from 'pg';
import { OutOfOrderEventError } from './messaging.errors.js';

/**
 * DDL for the consumers' applied positions. Run as the database owner; `appRole` (the services' role) gets
 * read/write on it. `last_version` per (consumer, stream) is committed with each read-model write.
 */
export async function migrateConsumerInbox(owner: pg.Pool | pg.Client, options: { appRole?: string } = {}): Promise<void> {
  const appRole = options.appRole ?? 'rollgate_app';
  await owner.query(`
    CREATE SCHEMA IF NOT EXISTS messaging;
    CREATE TABLE IF NOT EXISTS messaging.consumer_positions (
      consumer     text        NOT NULL,
      stream_id    text        NOT NULL,
      last_version bigint      NOT NULL CHECK (last_version >= 0),
      updated_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, stream_id));
  `);
  const { rowCount } = await owner.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [appRole]);
  if (rowCount) {
    const role = `"${appRole.replaceAll('"', '""')}"`;
    await owner.query(`GRANT USAGE ON SCHEMA messaging TO ${role};
      GRANT SELECT, INSERT, UPDATE ON messaging.consumer_positions TO ${role};`);
  }
}

export type ApplyOutcome = 'applied' | 'duplicate';

/**
 * Applies one event to a Postgres read model exactly once per consumer: `apply` runs in a transaction that
 * also moves the consumer's `last_version` for the event's stream, so a redelivery after a crash (effect
 * committed, ack lost) is a no-op. An event ahead of `last_version + 1` (a redelivery overtaken by newer
 * messages) throws `OutOfOrderEventError`, which the durable consumer naks for a later retry.
 */
export async function applyEventOnce(
  pool: pg.Pool,
  consumer: string,
  event: { streamId: string; streamVersion: number },
  apply: (tx: pg.PoolClient) => Promise<void>,
): Promise<ApplyOutcome> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // The row lock serializes replicas working on the same stream.
    await client.query(
      `INSERT INTO messaging.consumer_positions (consumer, stream_id, last_version) VALUES ($1, $2, 0)
       ON CONFLICT (consumer, stream_id) DO NOTHING`,
      [consumer, event.streamId],
    );
    const { rows } = await client.query<{ last_version: string }>(
      'SELECT last_version FROM messaging.consumer_positions WHERE consumer = $1 AND stream_id = $2 FOR UPDATE',
      [consumer, event.streamId],
    );
    const last = Number(rows[0]!.last_version);
    if (event.streamVersion <= last) {
      await client.query('ROLLBACK');
      return 'duplicate';
    }
    if (event.streamVersion !== last + 1) {
      await client.query('ROLLBACK');
      throw new OutOfOrderEventError(event.streamId, last + 1, event.streamVersion);
    }
    await apply(client);
    await client.query(
      `UPDATE messaging.consumer_positions SET last_version = $3, updated_at = now()
        WHERE consumer = $1 AND stream_id = $2`,
      [consumer, event.streamId, event.streamVersion],
    );
    await client.query('COMMIT');
    return 'applied';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
