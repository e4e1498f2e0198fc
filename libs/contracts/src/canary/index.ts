export * from './canary.model.js';
