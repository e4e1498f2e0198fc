import { Logger } from '@nestjs/common';
import { createGatewayApp } from './gateway.app.js';

const { app, env } = await createGatewayApp();
await app.listen(env.ROLLGATE_HTTP_PORT, env.ROLLGATE_HTTP_HOST);
new Logger('Gateway').log(`listening on ${await app.getUrl()} (OpenAPI at /api/docs)`);
