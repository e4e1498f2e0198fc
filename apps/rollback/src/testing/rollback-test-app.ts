import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '#rollgate/platform';
import { createServiceApp } from '#rollgate/service-runtime';
import { createTestDatabase, type PrivateNats, type TestDatabase } from '#rollgate/testing';
import { RollbackEnv } from '../rollback.config.js';
import { rollbackMigrations } from '../rollback.migrations.js';
import { rollbackService } from '../rollback.module.js';

export interface RollbackTestApp {
  app: NestFastifyApplication;
  db: TestDatabase;
  nc: NatsConnection;
  /** Stops the app (the database stays, for a restart on it). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** The rollback service in-process on its own fresh database (or `db`, for a restart), on `nats`. */
export async function startRollbackTestApp(nats: PrivateNats, env: Record<string, string> = {}, db?: TestDatabase): Promise<RollbackTestApp> {
  const database = db ?? (await createTestDatabase([...rollbackMigrations]));
  const rawEnv = {
    DATABASE_URL: database.appUrl,
    ROLLGATE_MIGRATION_DATABASE_URL: database.ownerUrl,
    ...nats.env('rollback'),
    ROLLGATE_HTTP_PORT: '0',
    ROLLGATE_LOG_LEVEL: 'warn',
    ROLLGATE_ROLLBACK_SDK_STATUS_INTERVAL_MS: '100',
    ROLLGATE_ROLLBACK_POLL_MS: '50',
    ...env,
  };
  const app = await createServiceApp(rollbackService, loadConfig(RollbackEnv, rawEnv), rawEnv);
  // The test plays the flags service and the SDKs beside the service under test: admin.
  const nc = await connect(nats.options('admin'));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await app.close();
    await nc.close();
  };
  return { app, db: database, nc, stop, close: async () => {
    await stop();
    await database.drop();
  } };
}
