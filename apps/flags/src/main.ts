import 'reflect-metadata';
import { runMigrations } from '#rollgate/event-store';
import { createLogger, loadConfig } from '#rollgate/platform';
import { createFlagsApp } from './flags.app.js';
import { FlagsEnv } from './flags.config.js';
import { flagsMigrations } from './flags.migrations.js';
import { rebuildReadModels } from './flags.rebuild.js';

const env = loadConfig(FlagsEnv);

if (process.argv[2] === 'migrate') {
  const log = createLogger({ service: env.ROLLGATE_SERVICE_NAME, level: env.ROLLGATE_LOG_LEVEL });
  const applied = await runMigrations(env.ROLLGATE_MIGRATION_DATABASE_URL, flagsMigrations);
  log.info({ applied }, applied.length ? `applied ${applied.length} migrations` : 'schema up to date');
} else if (process.argv[2] === 'rebuild') {
  const log = createLogger({ service: env.ROLLGATE_SERVICE_NAME, level: env.ROLLGATE_LOG_LEVEL });
  const replayed = await rebuildReadModels(env.DATABASE_URL);
  log.info({ replayed }, 'read models rebuilt from the log');
} else {
  const app = await createFlagsApp(env);
  const url = await app.getUrl();
  console.log(JSON.stringify({ msg: 'flags service listening', http: url, nats: env.NATS_URL }));
}
