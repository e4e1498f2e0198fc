import pg from 'pg';

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** Called when an idle connection dies (server restart, admin termination); the pool replaces it. */
  onIdleError?: (error: Error) => void;
}

/**
 * A pool for the service role. Short statement and idle-in-transaction timeouts matter beyond this process: a
 * long-open writing transaction holds back the snapshot xmin and stalls every "$all" reader in the cluster.
 */
export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'rollgate',
    statement_timeout: 15_000,
    idle_in_transaction_session_timeout: 15_000,
    connectionTimeoutMillis: 5_000,
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}
