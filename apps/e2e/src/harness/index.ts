export { RollgateSystem, type ApiResponse, type ServiceName, type SystemOptions } from './system.js';
export { BusClient } from './bus.js';
export * from './helpers.js';
export { FakeKubernetes, WebhookReceiver, finishedRollback, type WebhookDelivery } from './rollback-fakes.js';
export { streamMessages, type StreamMessage } from './stream.js';
