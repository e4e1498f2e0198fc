import pg from 'pg';
import type { LeaderElection, LeaderLease } from './event-store.port.js';

/**
 * Leadership by a session-level advisory lock. Session locks do not survive a pool (or PgBouncer transaction
 * pooling), so each lease holds its own dedicated connection; when that connection dies the lock is gone and
 * `lost` resolves.
 */
export class PgLeaderElection implements LeaderElection {
  constructor(private readonly connectionString: string) {}

  async tryAcquire(name: string): Promise<LeaderLease | null> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: `leader:${name}` });
    let markLost!: () => void;
    const lost = new Promise<void>((resolve) => (markLost = resolve));
    client.on('error', () => markLost());
    client.on('end', () => markLost());
    await client.connect();
    const { rows } = await client.query<{ acquired: boolean }>(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS acquired',
      [name],
    );
    if (!rows[0]?.acquired) {
      await client.end();
      return null;
    }
    return {
      name,
      lost,
      release: async () => {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  }
}
