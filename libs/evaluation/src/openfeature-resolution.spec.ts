import { makeResult } from './compile-flag.js';
import { toOpenFeatureResolution } from './openfeature-resolution.js';

// The whole table of OpenFeature's own test flags runs through the engine, this mapping and the provider in
// libs/sdk/src/openfeature/rollgate.provider.spec.ts (the flags live in libs/testing, which this lib cannot import).
describe(toOpenFeatureResolution.name, () => {
  const metadata = Object.freeze({ team: 'checkout', ticket: 12, reviewed: true });

  it('passes a served value through with its variant, reason and the flag metadata', () => {
    expect(toOpenFeatureResolution(makeResult('hi', 'greeting', 'STATIC', 3, undefined, undefined, metadata), 'bye', 'string-flag')).toEqual({
      value: 'hi', variant: 'greeting', reason: 'STATIC', errorCode: undefined, errorMessage: undefined, flagMetadata: metadata,
    });
    expect(toOpenFeatureResolution(makeResult(true, 'on', 'TARGETING_MATCH', 1, 'vip'), false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH', flagMetadata: {} });
  });

  it("gives the caller's default for a disabled flag, not its off value", () => {
    expect(toOpenFeatureResolution(makeResult(false, 'off', 'DISABLED', 2, undefined, undefined, metadata), true)).toEqual({
      value: true, variant: undefined, reason: 'DISABLED', errorCode: undefined, errorMessage: undefined, flagMetadata: metadata,
    });
  });

  it("gives the caller's default, reason ERROR and the code for an error, naming the flag", () => {
    expect(toOpenFeatureResolution(makeResult(13, undefined, 'ERROR', undefined, undefined, 'FLAG_NOT_FOUND'), 13, 'missing')).toEqual({
      value: 13, variant: undefined, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: 'missing: flag not found', flagMetadata: {},
    });
    expect(toOpenFeatureResolution(makeResult('x', undefined, 'ERROR', 4, undefined, 'TYPE_MISMATCH', metadata), 'x')).toMatchObject({
      value: 'x', reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: 'the flag serves a value of another type than the default', flagMetadata: metadata,
    });
  });
});
