import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '#rollgate/platform';
import { createServiceApp } from '#rollgate/service-runtime';
import { createTestDatabase, startPrivateNats, type PrivateNats, type TestDatabase } from '#rollgate/testing';
import { CanaryEnv } from '../canary.config.js';
import { canaryMigrations } from '../canary.migrations.js';
import { canaryService } from '../canary.module.js';
import { FakeFlags } from './fake-flags.js';

export interface CanaryTestApp {
  app: NestFastifyApplication;
  db: TestDatabase;
  nats: PrivateNats;
  flags: FakeFlags;
  /** As the gateway: sends canary commands and queries. */
  gateway: NatsConnection;
  /** As an SDK: publishes outcome batches. */
  sdk: NatsConnection;
  /** Stops the service and starts it again on the same database and NATS (an in-process restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The canary service in-process on a fresh migrated database and a private nats-server, with a fake flags service
 * on the same server (its subjects and queue groups are fixed, so a shared server would mix suites).
 */
export async function startCanaryTestApp(env: Record<string, string> = {}): Promise<CanaryTestApp> {
  const [db, nats] = await Promise.all([createTestDatabase([...canaryMigrations]), startPrivateNats()]);
  const rawEnv = {
    DATABASE_URL: db.appUrl,
    ROLLGATE_MIGRATION_DATABASE_URL: db.ownerUrl,
    ...nats.env('canary'),
    ROLLGATE_HTTP_PORT: '0',
    ROLLGATE_LOG_LEVEL: 'error',
    ROLLGATE_CANARY_LOOK_MS: '100',
    ROLLGATE_CANARY_REFRESH_MS: '200',
    CANARY_MONITORING_INTERVAL: '1',
    ...env,
  };
  const boot = () => createServiceApp(canaryService, loadConfig(CanaryEnv, rawEnv), rawEnv);
  const flags = await FakeFlags.start(nats);
  const testApp: CanaryTestApp = {
    app: await boot(),
    db,
    nats,
    flags,
    gateway: await connect(nats.options('gateway')),
    sdk: await connect(nats.options('sdk')),
    restart: async () => {
      await testApp.app.close();
      testApp.app = await boot();
    },
    close: async () => {
      await testApp.app.close();
      await testApp.gateway.close();
      await testApp.sdk.close();
      await flags.close();
      await nats.destroy();
      await db.drop();
    },
  };
  return testApp;
}
