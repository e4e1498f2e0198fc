export { RollgateSystem, type ApiResponse, type ServiceName, type SystemOptions } from './system.js';
export { BusClient } from './bus.js';
export * from './helpers.js';
export { runCli, startCli, type CliProcess, type CliRun } from './cli.js';
export { FakeKubernetes, WebhookReceiver, finishedRollback, type WebhookDelivery } from './rollback-fakes.js';
export { streamMessages, type StreamMessage } from './stream.js';
