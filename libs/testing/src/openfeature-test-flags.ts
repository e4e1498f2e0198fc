import type { EnvironmentConfig, FlagDefinition, FlagMetadata, JsonValue, Rule, Variant } from '#rollgate/evaluation';

/**
 * OpenFeature's own test flags (spec `test-flags.json`, flagd-testbed `testing-flags.json`; see
 * shared/research/next-wave-anchors.md §2) written as Rollgate definitions, and what OpenFeature expects of each
 * evaluation. A flagd "default variant" is a variant holding all the weight; flagd's `disabled` is the kill switch.
 */
export const OPENFEATURE_ENVIRONMENT = 'openfeature';

const TEMPLATE = { showImages: true, title: 'Check out these pics!', imagesPerPage: 100 };
const BALLMER = 'ballmer@macrosoft.com';

function variantFlag(key: string, variants: Record<string, JsonValue>, defaultVariant: string,
  options: { rules?: Rule[]; enabled?: boolean } = {}): FlagDefinition {
  const list: Variant[] = Object.entries(variants).map(([variant, payload]) => ({ key: variant, payload, weight: variant === defaultVariant ? 1 : 0 }));
  const config: EnvironmentConfig = { enabled: options.enabled ?? true, defaultRollout: { type: 'all_users' } };
  if (options.rules !== undefined) config.rules = options.rules;
  return { key, name: key, type: 'experiment', version: 1, variants: list, environments: { [OPENFEATURE_ENVIRONMENT]: config } };
}

function booleanFlag(key: string, options: { enabled?: boolean; metadata?: FlagMetadata } = {}): FlagDefinition {
  const flag: FlagDefinition = {
    key, name: key, type: 'boolean', version: 1,
    environments: { [OPENFEATURE_ENVIRONMENT]: { enabled: options.enabled ?? true, defaultRollout: { type: 'all_users' } } },
  };
  if (options.metadata !== undefined) flag.metadata = options.metadata;
  return flag;
}

const ZERO: Record<string, [JsonValue, JsonValue]> = {
  boolean: [false, true],
  string: ['', 'str'],
  integer: [0, 1],
  float: [0.0, 1.0],
  object: [{}, TEMPLATE],
};

const isBallmer: Rule = { id: 'is_ballmer', conditions: [{ attribute: 'email', operator: 'equals', values: [BALLMER] }], variant: 'zero' };

export const OPENFEATURE_TEST_FLAGS: FlagDefinition[] = [
  booleanFlag('boolean-flag'),
  variantFlag('string-flag', { greeting: 'hi', parting: 'bye' }, 'greeting'),
  variantFlag('integer-flag', { one: 1, ten: 10 }, 'ten'),
  variantFlag('float-flag', { tenth: 0.1, half: 0.5 }, 'half'),
  variantFlag('object-flag', { empty: {}, template: TEMPLATE }, 'template'),
  variantFlag('context-aware', { internal: 'INTERNAL', external: 'EXTERNAL' }, 'external', {
    rules: [{
      id: 'internal',
      conditions: [
        { attribute: 'fn', operator: 'equals', values: ['Sulisław'] },
        { attribute: 'ln', operator: 'equals', values: ['Świętopełk'] },
        { attribute: 'age', operator: 'equals', values: [29] },
        { attribute: 'customer', operator: 'equals', values: [false] },
      ],
      variant: 'internal',
    }],
  }),
  variantFlag('complex-targeted', { internal: 'INTERNAL', external: 'EXTERNAL' }, 'external', {
    rules: [{
      id: 'internal',
      conditions: [
        { attribute: 'customer', operator: 'equals', values: [false] },
        { attribute: 'email', operator: 'equals', values: [BALLMER] },
        { attribute: 'age', operator: 'gt', values: [10] },
      ],
      variant: 'internal',
    }],
  }),
  variantFlag('wrong-flag', { one: 'uno', two: 'dos' }, 'one'),
  ...Object.entries(ZERO).map(([type, [zero, nonZero]]) => variantFlag(`${type}-zero-flag`, { zero, 'non-zero': nonZero }, 'zero')),
  ...Object.entries(ZERO).map(([type, [zero, nonZero]]) =>
    variantFlag(`${type}-targeted-zero-flag`, { zero, 'non-zero': nonZero }, 'zero', { rules: [isBallmer] })),
  { ...booleanFlag('boolean-disabled-flag', { enabled: false }) },
  variantFlag('string-disabled-flag', { greeting: 'hi', parting: 'bye' }, 'greeting', { enabled: false }),
  variantFlag('integer-disabled-flag', { one: 1, ten: 10 }, 'ten', { enabled: false }),
  variantFlag('float-disabled-flag', { tenth: 0.1, half: 0.5 }, 'half', { enabled: false }),
  variantFlag('object-disabled-flag', { empty: {}, template: TEMPLATE }, 'template', { enabled: false }),
  booleanFlag('metadata-flag', { metadata: { string: '1.0.2', integer: 2, boolean: true, float: 0.1 } }),
  {
    key: 'split-flag', name: 'split-flag', type: 'experiment', version: 1,
    variants: [{ key: 'a', payload: 'A', weight: 1 }, { key: 'b', payload: 'B', weight: 1 }],
    environments: { [OPENFEATURE_ENVIRONMENT]: { enabled: true, defaultRollout: { type: 'all_users' } } },
  },
];

/** One evaluation and OpenFeature's expected details (absent fields: not set, e.g. no variant on an error). */
export interface OpenFeatureCase {
  name: string;
  flagKey: string;
  defaultValue: JsonValue;
  context: Record<string, unknown>;
  expected: { value: JsonValue; reason: string; variant?: string; errorCode?: string; flagMetadata?: FlagMetadata };
}

const basics: Array<[string, JsonValue, JsonValue, string]> = [
  ['boolean-flag', false, true, 'on'],
  ['string-flag', 'bye', 'hi', 'greeting'],
  ['integer-flag', 1, 10, 'ten'],
  ['float-flag', 0.1, 0.5, 'half'],
  ['object-flag', {}, TEMPLATE, 'template'],
];

const zeroDefaults: Record<string, JsonValue> = { boolean: true, string: 'hi', integer: 1, float: 0.1, object: { a: 1 } };
const ballmer = { email: BALLMER };

export const OPENFEATURE_CASES: OpenFeatureCase[] = [
  ...basics.map(([flagKey, defaultValue, value, variant]): OpenFeatureCase => ({
    name: `${flagKey}: static value, variant, no metadata`, flagKey, defaultValue, context: {},
    expected: { value, variant, reason: 'STATIC', flagMetadata: {} },
  })),
  ...Object.entries(zeroDefaults).flatMap(([type, defaultValue]): OpenFeatureCase[] => [
    { name: `${type}-zero-flag: the zero value is a value`, flagKey: `${type}-zero-flag`, defaultValue, context: {},
      expected: { value: ZERO[type]![0], variant: 'zero', reason: 'STATIC' } },
    { name: `${type}-targeted-zero-flag: a rule serving the zero value`, flagKey: `${type}-targeted-zero-flag`, defaultValue, context: ballmer,
      expected: { value: ZERO[type]![0], variant: 'zero', reason: 'TARGETING_MATCH' } },
    { name: `${type}-targeted-zero-flag: no rule matches`, flagKey: `${type}-targeted-zero-flag`, defaultValue, context: { email: 'ballmer@none.com' },
      expected: { value: ZERO[type]![0], variant: 'zero', reason: 'DEFAULT' } },
    { name: `${type}-targeted-zero-flag: empty context`, flagKey: `${type}-targeted-zero-flag`, defaultValue, context: {},
      expected: { value: ZERO[type]![0], variant: 'zero', reason: 'DEFAULT' } },
    { name: `${type}-targeted-zero-flag: null email`, flagKey: `${type}-targeted-zero-flag`, defaultValue, context: { email: null },
      expected: { value: ZERO[type]![0], variant: 'zero', reason: 'DEFAULT' } },
    { name: `non-existent flag as ${type}`, flagKey: 'non-existent-flag', defaultValue, context: {},
      expected: { value: defaultValue, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' } },
  ]),
  { name: 'boolean-disabled-flag: the caller default, not the off value', flagKey: 'boolean-disabled-flag', defaultValue: true, context: {},
    expected: { value: true, reason: 'DISABLED' } },
  { name: 'string-disabled-flag', flagKey: 'string-disabled-flag', defaultValue: 'bye', context: {}, expected: { value: 'bye', reason: 'DISABLED' } },
  { name: 'integer-disabled-flag', flagKey: 'integer-disabled-flag', defaultValue: 1, context: {}, expected: { value: 1, reason: 'DISABLED' } },
  { name: 'float-disabled-flag', flagKey: 'float-disabled-flag', defaultValue: 0.1, context: {}, expected: { value: 0.1, reason: 'DISABLED' } },
  { name: 'object-disabled-flag', flagKey: 'object-disabled-flag', defaultValue: {}, context: {}, expected: { value: {}, reason: 'DISABLED' } },
  { name: 'context-aware: a real boolean customer=false matches', flagKey: 'context-aware', defaultValue: 'EXTERNAL',
    context: { fn: 'Sulisław', ln: 'Świętopełk', age: 29, customer: false },
    expected: { value: 'INTERNAL', variant: 'internal', reason: 'TARGETING_MATCH' } },
  { name: 'context-aware: the text "false" is not the boolean false', flagKey: 'context-aware', defaultValue: 'EXTERNAL',
    context: { fn: 'Sulisław', ln: 'Świętopełk', age: 29, customer: 'false' },
    expected: { value: 'EXTERNAL', variant: 'external', reason: 'DEFAULT' } },
  { name: 'context-aware: empty context', flagKey: 'context-aware', defaultValue: 'EXTERNAL', context: {},
    expected: { value: 'EXTERNAL', variant: 'external', reason: 'DEFAULT' } },
  { name: 'complex-targeted: several attributes, a boolean among them', flagKey: 'complex-targeted', defaultValue: 'EXTERNAL',
    context: { email: BALLMER, role: 'admin', age: 65, customer: false },
    expected: { value: 'INTERNAL', variant: 'internal', reason: 'TARGETING_MATCH' } },
  { name: 'complex-targeted: customer=true', flagKey: 'complex-targeted', defaultValue: 'EXTERNAL',
    context: { email: BALLMER, role: 'admin', age: 65, customer: true },
    expected: { value: 'EXTERNAL', variant: 'external', reason: 'DEFAULT' } },
  { name: 'wrong-flag as a number', flagKey: 'wrong-flag', defaultValue: 13, context: {},
    expected: { value: 13, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' } },
  { name: 'string-flag as a boolean', flagKey: 'string-flag', defaultValue: false, context: {},
    expected: { value: false, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' } },
  ...(['x', 5, {}] as JsonValue[]).map((defaultValue): OpenFeatureCase => ({
    name: `boolean-flag as ${typeof defaultValue}`, flagKey: 'boolean-flag', defaultValue, context: {},
    expected: { value: defaultValue, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' },
  })),
  { name: 'metadata-flag: the flag metadata', flagKey: 'metadata-flag', defaultValue: false, context: {},
    expected: { value: true, variant: 'on', reason: 'STATIC', flagMetadata: { string: '1.0.2', integer: 2, boolean: true, float: 0.1 } } },
  // Bucketing is fixed by docs/adr/0004-bucketing.md (golden-tested), so a unit's variant is too.
  ...([['user-1', 'B', 'b'], ['user-2', 'A', 'a']] as const).map(([userId, value, variant]): OpenFeatureCase => ({
    name: `split-flag: ${userId} hashed to ${variant}`, flagKey: 'split-flag', defaultValue: 'none', context: { userId },
    expected: { value, variant, reason: 'SPLIT' },
  })),
];
