import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createPool, ProjectionRunner, runMigrations } from '#rollgate/event-store';
import { createLogger, loadConfig } from '#rollgate/platform';
import { createGatewayApp } from './gateway.app.js';
import { GatewayEnv } from './gateway.config.js';
import { gatewayMigrations } from './gateway.migrations.js';
import { ApiTokenProjection } from './tokens/api-token.projection.js';

// `main.js migrate` applies the gateway's migrations as the owner role, `main.js rebuild` rebuilds its token read
// model from the log (gateway stopped: the projection is inline), `main.js` serves.
const command = process.argv[2];
switch (command) {
  case 'migrate':
  case 'rebuild': {
    const env = loadConfig(GatewayEnv);
    const log = createLogger({ service: env.ROLLGATE_SERVICE_NAME, level: env.ROLLGATE_LOG_LEVEL });
    if (command === 'migrate') {
      const applied = await runMigrations(env.ROLLGATE_MIGRATION_DATABASE_URL, gatewayMigrations);
      log.info({ applied }, applied.length ? `applied ${applied.length} migrations` : 'schema up to date');
    } else {
      const pool = createPool(env.DATABASE_URL, { max: 2, applicationName: 'gateway-rebuild' });
      try {
        const replayed = await new ProjectionRunner(pool, new ApiTokenProjection()).rebuild();
        log.info({ replayed }, 'token read model rebuilt from the log');
      } finally {
        await pool.end();
      }
    }
    break;
  }
  case undefined: {
    const { app, env } = await createGatewayApp();
    await app.listen(env.ROLLGATE_HTTP_PORT, env.ROLLGATE_HTTP_HOST);
    new Logger('Gateway').log(`listening on ${await app.getUrl()} (OpenAPI at /api/docs)`);
    break;
  }
  default:
    throw new Error(`unknown sub-command ${command}: expected migrate, rebuild or none`);
}
