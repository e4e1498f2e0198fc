import 'reflect-metadata';
import { createPool, ProjectionRunner, runMigrations } from '#rollgate/event-store';
import { createLogger, loadConfig } from '#rollgate/platform';
import type { ServiceDefinition } from './service.definition.js';
import type { ServiceEnv } from './service.env.js';
import { createServiceApp } from './service.app.js';

/**
 * Empties every read model derived from the log (the inline one and the async ones) and replays es.events from
 * zero through the same projection code the live service runs. Run it with the service stopped: a live inline
 * projection would race the reset.
 */
export async function rebuildReadModels<Env extends ServiceEnv>(definition: ServiceDefinition<Env>, databaseUrl: string): Promise<Record<string, number>> {
  const pool = createPool(databaseUrl, { max: 2, applicationName: `${definition.name}-rebuild` });
  try {
    const projections = [
      ...(definition.inlineProjection ? [definition.inlineProjection()] : []),
      ...(definition.asyncProjections ?? []).map((spec) => spec.create()),
    ];
    const replayed: Record<string, number> = {};
    for (const projection of projections) replayed[projection.name] = await new ProjectionRunner(pool, projection).rebuild();
    return replayed;
  } finally {
    await pool.end();
  }
}

/**
 * A service's `main.ts`: `main.js migrate` applies its migrations as the owner role, `main.js rebuild` rebuilds
 * its read models from the log, `main.js` serves.
 */
export async function runService<Env extends ServiceEnv>(definition: ServiceDefinition<Env>, argv = process.argv.slice(2)): Promise<void> {
  const env = loadConfig(definition.env);
  const log = createLogger({ service: env.ROLLGATE_SERVICE_NAME, level: env.ROLLGATE_LOG_LEVEL });
  switch (argv[0]) {
    case 'migrate': {
      const applied = await runMigrations(env.ROLLGATE_MIGRATION_DATABASE_URL, definition.migrations);
      log.info({ applied }, applied.length ? `applied ${applied.length} migrations` : 'schema up to date');
      return;
    }
    case 'rebuild': {
      const replayed = await rebuildReadModels(definition, env.DATABASE_URL);
      log.info({ replayed }, 'read models rebuilt from the log');
      return;
    }
    case undefined: {
      const app = await createServiceApp(definition, env);
      log.info({ http: await app.getUrl(), nats: env.NATS_URL, natsUser: env.NATS_USER ?? null }, `${definition.name} service listening`);
      return;
    }
    default:
      throw new Error(`unknown sub-command ${argv[0]}: expected migrate, rebuild or none`);
  }
}
