// The SDK's client surface, with no NestJS or OpenFeature import: the npm package's root (`@rollgate/sdk`).
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
export {
  toOpenFeatureResolution,
  type EvaluationContext,
  type EvaluationResult,
  type FlagMetadata,
  type JsonValue,
  type OpenFeatureResolution,
  type Reason,
} from '#rollgate/evaluation';
