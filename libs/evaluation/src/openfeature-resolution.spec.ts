import { OPENFEATURE_CASES, OPENFEATURE_ENVIRONMENT, OPENFEATURE_TEST_FLAGS } from '#rollgate/testing';
import { EvaluationEngine } from './evaluation.engine.js';
import { toOpenFeatureResolution } from './openfeature-resolution.js';

describe(toOpenFeatureResolution.name, () => {
  const engine = new EvaluationEngine(OPENFEATURE_ENVIRONMENT);
  const report = engine.load({ environment: OPENFEATURE_ENVIRONMENT, flags: OPENFEATURE_TEST_FLAGS });

  it('loads every OpenFeature test flag', () => {
    expect(report).toEqual({ loaded: OPENFEATURE_TEST_FLAGS.length, rejected: [] });
  });

  it.each(OPENFEATURE_CASES)('$name', ({ flagKey, defaultValue, context, expected }) => {
    const resolution = toOpenFeatureResolution(engine.evaluate(flagKey, context, defaultValue), defaultValue, flagKey);
    expect(resolution).toEqual({
      value: expected.value,
      variant: expected.variant,
      reason: expected.reason,
      errorCode: expected.errorCode,
      errorMessage: expected.errorCode === undefined ? undefined : expect.stringContaining(flagKey),
      flagMetadata: expected.flagMetadata ?? {},
    });
  });
});
