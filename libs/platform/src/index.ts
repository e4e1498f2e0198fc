export * from './errors/rollgate.error.js';
export * from './errors/config.error.js';
export * from './errors/http-status.js';
export * from './errors/error-response.js';
export * from './config/base-env.config.js';
export * from './config/env.transforms.js';
export * from './config/load-config.js';
export * from './config/config.module.js';
