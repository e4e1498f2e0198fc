import { ErrorCode, OpenFeature, StandardResolutionReasons, type EvaluationContext, type JsonValue } from '@openfeature/server-sdk';
import type { FlagDefinition } from '#rollgate/contracts';
import { OPENFEATURE_CASES, OPENFEATURE_ENVIRONMENT, OPENFEATURE_TEST_FLAGS, type OpenFeatureCase } from '#rollgate/testing';
import { EvaluationEngine, toOpenFeatureResolution } from '#rollgate/evaluation';
import { RollgateClient } from '../rollgate.client.js';
import { RollgateProvider } from './rollgate.provider.js';

const ENV = 'prod';
const flags: FlagDefinition[] = [
  { key: 'bool', name: 'b', type: 'boolean', version: 4, environments: { [ENV]: { enabled: true, defaultRollout: { type: 'all_users' } } } },
  {
    key: 'targeted', name: 't', type: 'boolean', version: 2,
    environments: { [ENV]: { enabled: true, rules: [{ id: 'vip', conditions: [{ attribute: 'userId', operator: 'in', values: ['alice'] }] }], defaultRollout: { type: 'none' } } },
  },
  {
    key: 'banner', name: 's', type: 'experiment', version: 1, offVariant: 'none',
    variants: [{ key: 'none', weight: 0, payload: 'none' }, { key: 'sale', weight: 1, payload: 'Summer sale' }],
    environments: { [ENV]: { enabled: true, defaultRollout: { type: 'all_users' } } },
  },
  {
    key: 'limit', name: 'n', type: 'experiment', version: 1,
    variants: [{ key: 'high', weight: 1, payload: 100 }],
    environments: { [ENV]: { enabled: true, defaultRollout: { type: 'all_users' } } },
  },
  {
    key: 'config', name: 'o', type: 'experiment', version: 1,
    variants: [{ key: 'v1', weight: 1, payload: { retries: 3, endpoints: ['a', 'b'] } }],
    environments: { [ENV]: { enabled: true, defaultRollout: { type: 'all_users' } } },
  },
];

describe(RollgateProvider.name, () => {
  const domain = 'rollgate-provider-spec';
  let rollgate: RollgateClient;

  beforeAll(async () => {
    rollgate = RollgateClient.offline({ environment: ENV, snapshot: { environment: ENV, position: '1', flags, segments: [] } });
    await OpenFeature.setProviderAndWait(domain, new RollgateProvider(rollgate));
  });
  afterAll(async () => {
    await OpenFeature.clearProviders();
  });

  it('resolves boolean, string, number and object flags with reasons, variants and metadata', async () => {
    const client = OpenFeature.getClient(domain);
    expect(await client.getBooleanDetails('bool', false, { targetingKey: 'u1' })).toMatchObject({
      flagKey: 'bool', value: true, variant: 'on', reason: StandardResolutionReasons.STATIC, flagMetadata: {},
    });
    // targetingKey stands in for userId.
    expect(await client.getBooleanDetails('targeted', false, { targetingKey: 'alice' })).toMatchObject({
      value: true, reason: StandardResolutionReasons.TARGETING_MATCH,
    });
    expect(await client.getBooleanValue('targeted', true, { targetingKey: 'bob' })).toBe(false);
    // All the weight on one variant: served to everyone without a hash.
    expect(await client.getStringDetails('banner', 'x', { targetingKey: 'u1' })).toMatchObject({ value: 'Summer sale', variant: 'sale', reason: 'STATIC' });
    expect(await client.getNumberValue('limit', 1, { targetingKey: 'u1' })).toBe(100);
    expect(await client.getObjectValue('config', {}, { targetingKey: 'u1' })).toEqual({ retries: 3, endpoints: ['a', 'b'] });
  });

  it('meets OpenFeature error expectations: default value, reason ERROR, error code set, never a throw', async () => {
    const client = OpenFeature.getClient(domain);
    expect(await client.getBooleanDetails('missing', true, { targetingKey: 'u' })).toMatchObject({
      value: true, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND,
    });
    expect(await client.getNumberDetails('bool', 7, { targetingKey: 'u' })).toMatchObject({
      value: 7, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH,
    });
    expect(await client.getStringDetails('limit', 'd', { targetingKey: 'u' })).toMatchObject({ value: 'd', reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getBooleanDetails('config', false, {})).toMatchObject({ value: false, errorCode: ErrorCode.TYPE_MISMATCH });
  });

  it('maps an engine failure to GENERAL and an unready client to PROVIDER_NOT_READY', () => {
    const provider = new RollgateProvider(rollgate);
    // A context whose attribute getter throws makes the engine report GENERAL.
    const hostile = Object.defineProperty({}, 'userId', { enumerable: true, get: () => { throw new Error('nope'); } });
    expect(provider.resolve('targeted', false, hostile)).toMatchObject({ value: false, reason: 'ERROR', errorCode: ErrorCode.GENERAL });
    const unready = new RollgateProvider({ environment: ENV, servers: 'nats://127.0.0.1:1' });
    expect(unready.resolve('bool', false, {})).toMatchObject({ value: false, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_NOT_READY });
  });
});

describe(`${RollgateProvider.name} against OpenFeature's test flags`, () => {
  const domain = 'rollgate-provider-openfeature-flags';

  beforeAll(async () => {
    const rollgate = RollgateClient.offline({
      environment: OPENFEATURE_ENVIRONMENT,
      snapshot: { environment: OPENFEATURE_ENVIRONMENT, position: '1', flags: OPENFEATURE_TEST_FLAGS, segments: [] },
    });
    await OpenFeature.setProviderAndWait(domain, new RollgateProvider(rollgate));
  });
  afterAll(async () => {
    await OpenFeature.clearProviders();
  });

  /** The OpenFeature SDK call a case's default value selects, as an application would make it. */
  const details = (c: OpenFeatureCase) => {
    const client = OpenFeature.getClient(domain);
    const context = c.context as EvaluationContext;
    if (typeof c.defaultValue === 'boolean') return client.getBooleanDetails(c.flagKey, c.defaultValue, context);
    if (typeof c.defaultValue === 'string') return client.getStringDetails(c.flagKey, c.defaultValue, context);
    if (typeof c.defaultValue === 'number') return client.getNumberDetails(c.flagKey, c.defaultValue, context);
    return client.getObjectDetails(c.flagKey, c.defaultValue as JsonValue, context);
  };

  it.each(OPENFEATURE_CASES)('$name', async (c) => {
    const { expected } = c;
    const result = await details(c);
    expect(result.value).toEqual(expected.value);
    expect(result.reason).toBe(expected.reason);
    expect(result.variant).toBe(expected.variant);
    expect(result.errorCode).toBe(expected.errorCode);
    expect(result.flagMetadata).toEqual(expected.flagMetadata ?? {});
  });
});

describe(`${toOpenFeatureResolution.name} over the engine, against OpenFeature's test flags`, () => {
  const engine = new EvaluationEngine(OPENFEATURE_ENVIRONMENT);
  const report = engine.load({ environment: OPENFEATURE_ENVIRONMENT, flags: OPENFEATURE_TEST_FLAGS });

  it('loads every flag', () => {
    expect(report).toEqual({ loaded: OPENFEATURE_TEST_FLAGS.length, rejected: [] });
  });

  it.each(OPENFEATURE_CASES)('$name', ({ flagKey, defaultValue, context, expected }) => {
    expect(toOpenFeatureResolution(engine.evaluate(flagKey, context, defaultValue), defaultValue, flagKey)).toEqual({
      value: expected.value,
      variant: expected.variant,
      reason: expected.reason,
      errorCode: expected.errorCode,
      errorMessage: expected.errorCode === undefined ? undefined : expect.stringContaining(flagKey),
      flagMetadata: expected.flagMetadata ?? {},
    });
  });
});
