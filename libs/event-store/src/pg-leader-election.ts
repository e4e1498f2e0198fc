import pg from 'pg';
import type { LeaderElection, LeaderLease } from './event-store.port.js';

export interface PgLeaderElectionOptions {
  /**
   * How often the holder checks its lock connection (`SELECT 1`, failing after the same time). A connection that
   * went half-open (a database failover, a dead network path) raises no error by itself, and advisory locks are not
   * replicated: another replica may already lead on the new primary. Default 5 s.
   */
  heartbeatMs?: number;
}

/**
 * Leadership by a session-level advisory lock. Session locks do not survive a pool (or PgBouncer transaction
 * pooling), so each lease holds its own dedicated connection; when that connection dies, or stops answering the
 * heartbeat, the lock is gone and `lost` resolves.
 */
export class PgLeaderElection implements LeaderElection {
  private readonly heartbeatMs: number;

  constructor(
    private readonly connectionString: string,
    options: PgLeaderElectionOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
  }

  async tryAcquire(name: string): Promise<LeaderLease | null> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: `leader:${name}`, keepAlive: true });
    let markLost!: () => void;
    let isLost = false;
    const lost = new Promise<void>((resolve) => (markLost = resolve)).then(() => {
      isLost = true;
    });
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
    const verify = async (): Promise<boolean> => {
      if (isLost) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.heartbeatMs)));
      const answered = client.query('SELECT 1').then(
        () => true,
        () => false,
      );
      const alive = await Promise.race([answered, timedOut]);
      clearTimeout(timer);
      if (!alive) {
        markLost();
        // A half-open socket would hold the session (and the lock, if the server still has it) until TCP gives up.
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      }
      return alive && !isLost;
    };
    const heartbeat = setInterval(() => void verify(), this.heartbeatMs);
    heartbeat.unref();
    void lost.then(() => clearInterval(heartbeat));
    return {
      name,
      lost,
      verify,
      release: async () => {
        clearInterval(heartbeat);
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  }
}
