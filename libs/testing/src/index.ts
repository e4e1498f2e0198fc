export * from './test-database.js';
export { startPrivateNats, type PrivateNats } from './private-nats.js';
export { natsAccess, sharedNats, type NatsAccess, type NatsUser } from './nats-access.js';
export { freePort, waitFor } from './free-port.js';
export { OPENFEATURE_TEST_FLAGS, OPENFEATURE_CASES, OPENFEATURE_ENVIRONMENT, type OpenFeatureCase } from './openfeature-test-flags.js';
export { startNatsCluster, type NatsCluster, type NatsNode } from './nats-cluster.js';
