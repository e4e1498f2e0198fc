export * from './flag.model.js';
export { murmur3, murmur3Prefix, murmur3Continue, murmur3From, type Murmur3State } from './murmur3.js';
export { bucketOf, bucketFromHash, bucketPrefix, bucketWithPrefix, variantSalt } from './bucketing.js';
export { compileCondition, compileConditions, type Matcher } from './condition.js';
export { gradualPpm, DEFAULT_STICKINESS } from './rollout.js';
export { compileFlag, CompiledFlag, variantThresholds, type SegmentLookup } from './compile-flag.js';
export { validateFlag, validateSegment, FLAG_KEY_PATTERN, type ValidationProblem } from './flag.validation.js';
export { EvaluationError, FlagValidationError, EnvironmentMismatchError } from './evaluation.errors.js';
export { EvaluationEngine, type EngineOptions, type LoadReport } from './evaluation.engine.js';
