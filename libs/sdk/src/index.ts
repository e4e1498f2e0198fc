/**
 * The workspace's `#rollgate/sdk`: everything. The npm package splits the same surface into entry points so its root
 * loads neither NestJS nor OpenFeature: `@rollgate/sdk` (core.ts), `@rollgate/sdk/openfeature`, `@rollgate/sdk/nestjs`
 * (scripts/pack-sdk.mjs, docs/sdk.md).
 */
export * from './core.js';
export * from './openfeature/index.js';
export * from './nest/index.js';
