export {
  RollgateClient,
  type RollgateClientOptions,
  type RollgateLogger,
  type FlagChangeEvent,
  type ChangeCause,
  type ClientStatus,
  type StatusEvent,
  type TrackOptions,
} from './rollgate.client.js';
export { FlagSync, restrictToEnvironment, type SyncOp, type SyncResult, type SyncMode } from './flag-sync.js';
export { OutcomeAggregator, latencyBucket, type OutcomeAggregatorOptions } from './outcome-aggregator.js';
export { SdkError, type SdkErrorCode } from './sdk.errors.js';
export { readSnapshotFile, writeSnapshotFile } from './snapshot-file.js';
export { RollgateProvider } from './openfeature/rollgate.provider.js';
export {
  RollgateModule,
  RollgateClients,
  InjectRollgate,
  ROLLGATE_OPTIONS,
  type RollgateModuleOptions,
  type RollgateModuleAsyncOptions,
} from './nest/rollgate.module.js';
export { RequireFlag, RequireFlagGuard, defaultContextFromRequest, REQUIRE_FLAG, type RequireFlagOptions } from './nest/require-flag.guard.js';
