import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '#rollgate/platform';
import { createServiceApp } from '#rollgate/service-runtime';
import { createTestDatabase, startPrivateNats, type PrivateNats, type TestDatabase } from '#rollgate/testing';
import { FlagsEnv } from '../flags.config.js';
import { flagsMigrations } from '../flags.migrations.js';
import { flagsService } from '../flags.module.js';

export interface FlagsTestApp {
  app: NestFastifyApplication;
  db: TestDatabase;
  nats: PrivateNats;
  /** A client connection on the same private server, for raw requests and subscriptions. */
  nc: NatsConnection;
  close(): Promise<void>;
}

/**
 * The flags service in-process on a fresh migrated database and a private nats-server (its subjects and queue
 * group are fixed, so on a shared server another suite's instance could answer this suite's requests).
 */
export async function startFlagsTestApp(env: Record<string, string> = {}): Promise<FlagsTestApp> {
  const [db, nats] = await Promise.all([createTestDatabase([...flagsMigrations]), startPrivateNats()]);
  const rawEnv = {
    DATABASE_URL: db.appUrl,
    ROLLGATE_MIGRATION_DATABASE_URL: db.ownerUrl,
    ...nats.env('flags'),
    ROLLGATE_HTTP_PORT: '0',
    ROLLGATE_LOG_LEVEL: 'warn',
    ...env,
  };
  const app = await createServiceApp(flagsService, loadConfig(FlagsEnv, rawEnv), rawEnv);
  // The test drives the service as the gateway and the SDKs would, and inspects the stream: admin.
  const nc = await connect(nats.options('admin'));
  return {
    app,
    db,
    nats,
    nc,
    close: async () => {
      await app.close();
      await nc.close();
      await nats.destroy();
      await db.drop();
    },
  };
}
