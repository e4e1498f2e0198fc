export * from './test-database.js';
export { startPrivateNats, type PrivateNats } from './private-nats.js';
export { freePort, waitFor } from './free-port.js';
