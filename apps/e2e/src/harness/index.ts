export { RollgateSystem, type ApiResponse, type ServiceName, type SystemOptions } from './system.js';
