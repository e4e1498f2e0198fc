import { eventStoreMigrations } from '#rollgate/event-store';
import { GatewayApiTokens1732900000000 } from './migrations/1732900000000-gateway-api-tokens.js';
import { GatewayTokenEnvironment1733000000000 } from './migrations/1733000000000-gateway-token-environment.js';

/** The gateway's database (rollgate_gateway): the event store for its `token-<id>` streams, then its read models. */
export const gatewayMigrations = [...eventStoreMigrations, GatewayApiTokens1732900000000, GatewayTokenEnvironment1733000000000] as const;
