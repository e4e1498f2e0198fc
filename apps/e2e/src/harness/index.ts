export { RollgateSystem, type ApiResponse, type ServiceName, type SystemOptions } from './system.js';
export { BusClient } from './bus.js';
export * from './helpers.js';
