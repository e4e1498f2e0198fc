import { bucketOf } from './bucketing.js';
import { CompiledFlag, compileFlag } from './compile-flag.js';
import { EvaluationEngine } from './evaluation.engine.js';
import type { EnvironmentConfig, FlagDefinition, Segment } from './flag.model.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const clock = () => T0;

function flag(key: string, production: Partial<EnvironmentConfig>, extra: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    key, name: key, type: 'boolean', version: 1,
    environments: { production: { enabled: true, defaultRollout: { type: 'all_users' }, ...production } },
    ...extra,
  };
}

/** Every object reachable from `root` through own properties, array items, Map and Set entries (functions are opaque). */
function reachable(root: unknown): Set<object> {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (value instanceof Map) for (const [k, v] of value) stack.push(k, v);
    if (value instanceof Set) for (const v of value) stack.push(v);
    for (const name of Object.getOwnPropertyNames(value)) stack.push((value as Record<string, unknown>)[name]);
  }
  return seen;
}

/** Every object inside a definition (the definition itself, environments, rules, conditions, rollouts, lists). */
function objectsOf(definition: unknown): object[] {
  return [...reachable(definition)];
}

describe(compileFlag.name, () => {
  it('keeps nothing of the definition: no definition, environment, rule, condition, rollout or list object', () => {
    const segments: Segment[] = [{ key: 'staff', conditions: [{ attribute: 'email', operator: 'ends_with', values: ['@rollgate.dev'] }] }];
    const definitions: FlagDefinition[] = [
      flag('plain', {}),
      flag('ruled', {
        rules: [
          { id: 'fr', conditions: [{ attribute: 'country', operator: 'in', values: ['FR', 'BE'] }], rollout: { type: 'percentage', ppm: 100_000 } },
          { id: 'staff', segments: ['staff'] },
          { id: 'listed', rollout: { type: 'user_list', users: ['u1', 'u2'] } },
        ],
        defaultRollout: { type: 'gradual', from: 0, to: 500_000, start: T0, end: T0 + 1_000 },
      }),
      flag('exp', { rules: [{ id: 'qa', conditions: [{ attribute: 'role', operator: 'equals', values: ['qa'] }], variant: 'b' }] }, {
        type: 'experiment', offVariant: 'a',
        variants: [{ key: 'a', payload: { layout: 'classic' }, weight: 1 }, { key: 'b', payload: ['x'], weight: 1 }],
      }),
    ];
    for (const definition of definitions) {
      const compiled = compileFlag(definition, segments, 'production');
      const kept = reachable(compiled);
      const inside = objectsOf(definition).filter((o) => kept.has(o));
      // Variant payloads are served as they are (results share them), so they are the one exception.
      const payloads = new Set<unknown>((definition.variants ?? []).map((v) => v.payload));
      expect(inside.filter((o) => !payloads.has(o))).toEqual([]);
    }
  });

  it('shares boolean results across flags with the same version, rule id and outcome', () => {
    const engine = new EvaluationEngine('production', { clock });
    const rule = { id: 'prod', conditions: [{ attribute: 'environment', operator: 'in' as const, values: ['production'] }] };
    engine.upsert(flag('one', { rules: [rule], defaultRollout: { type: 'none' } }));
    engine.upsert(flag('two', { rules: [rule], defaultRollout: { type: 'none' } }));
    engine.upsert(flag('three', { rules: [rule], defaultRollout: { type: 'none' } }, { version: 2 }));
    const on = { environment: 'production' };
    expect(engine.evaluate('one', on, false)).toBe(engine.evaluate('two', on, false));
    expect(engine.evaluate('one', {}, false)).toBe(engine.evaluate('two', {}, false));
    expect(engine.evaluate('three', on, false)).not.toBe(engine.evaluate('one', on, false));
    expect(engine.evaluate('three', on, false)).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH', flagVersion: 2, ruleId: 'prod' });
    expect(engine.evaluate('one', on, false)).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH', flagVersion: 1, ruleId: 'prod' });
  });

  it('does not share a one-value condition between a number and its text (before 1000 ms vs the year 1000)', () => {
    const engine = new EvaluationEngine('production', { clock });
    engine.upsert(flag('ms', { rules: [{ id: 'r', conditions: [{ attribute: 't', operator: 'before', values: [1_000] }] }], defaultRollout: { type: 'none' } }));
    engine.upsert(flag('year', { rules: [{ id: 'r', conditions: [{ attribute: 't', operator: 'before', values: ['1000'] }] }], defaultRollout: { type: 'none' } }));
    expect(engine.isEnabled('ms', { t: 500 })).toBe(true);
    expect(engine.isEnabled('year', { t: 500 })).toBe(false);
    expect(engine.isEnabled('year', { t: '0999-06-01' })).toBe(true);
    // Same attribute and value, other flags: negate and caseInsensitive are part of the identity too.
    engine.upsert(flag('not-ms', { rules: [{ id: 'r', conditions: [{ attribute: 't', operator: 'before', values: [1_000], negate: true }] }], defaultRollout: { type: 'none' } }));
    expect(engine.isEnabled('not-ms', { t: 500 })).toBe(false);
    engine.upsert(flag('fr', { rules: [{ id: 'r', conditions: [{ attribute: 'c', operator: 'in', values: ['fr'] }] }], defaultRollout: { type: 'none' } }));
    engine.upsert(flag('fr-any-case', { rules: [{ id: 'r', conditions: [{ attribute: 'c', operator: 'in', values: ['fr'], caseInsensitive: true }] }], defaultRollout: { type: 'none' } }));
    expect(engine.isEnabled('fr', { c: 'FR' })).toBe(false);
    expect(engine.isEnabled('fr-any-case', { c: 'FR' })).toBe(true);
  });

  it('walks the decision list in order: the inline first rule, the other rules, then the default rollout', () => {
    const engine = new EvaluationEngine('production', { clock });
    engine.upsert(flag('list', {
      rules: [
        { id: 'first', conditions: [{ attribute: 'plan', operator: 'in', values: ['gold'] }] },
        { id: 'second', conditions: [{ attribute: 'plan', operator: 'in', values: ['silver'] }], rollout: { type: 'none' } },
        { id: 'third', conditions: [{ attribute: 'country', operator: 'in', values: ['FR'] }] },
      ],
      defaultRollout: { type: 'percentage', ppm: 500_000 },
    }));
    let inside = '';
    let outside = '';
    for (let i = 0; inside === '' || outside === ''; i++) {
      if (bucketOf('list', `u${i}`) < 500_000) inside ||= `u${i}`;
      else outside ||= `u${i}`;
    }
    expect(engine.evaluate('list', { userId: outside, plan: 'gold', country: 'FR' }, false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH', ruleId: 'first' });
    expect(engine.evaluate('list', { userId: outside, plan: 'silver', country: 'FR' }, false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH', ruleId: 'third' });
    expect(engine.evaluate('list', { userId: inside, plan: 'silver' }, false)).toMatchObject({ value: true, reason: 'SPLIT', ruleId: undefined });
    expect(engine.evaluate('list', { userId: outside, plan: 'silver' }, false)).toMatchObject({ value: false, reason: 'SPLIT', ruleId: undefined });
    expect(engine.evaluate('list', { plan: 'silver' }, false)).toMatchObject({ value: false, reason: 'SPLIT' });
  });

  it('a flag with only a split default rollout, and an experiment whose weight is all on one variant (served without a hash)', () => {
    const pct = compileFlag(flag('pct', { defaultRollout: { type: 'percentage', ppm: 1 } }), [], 'production');
    expect(pct.staticResult).toBeNull();
    expect(pct.resolve({}, undefined, clock)).toMatchObject({ value: false, reason: 'SPLIT' });
    const exp = compileFlag(flag('exp', { rules: [{ id: 'qa', conditions: [{ attribute: 'role', operator: 'in', values: ['qa'] }], variant: 'b' }] }, {
      type: 'experiment', variants: [{ key: 'a', payload: 'A', weight: 1 }, { key: 'b', payload: 'B', weight: 0 }],
    }), [], 'production');
    expect(exp.isExperiment).toBe(true);
    expect(exp.resolve({ role: 'qa', userId: 'u' }, undefined, clock)).toMatchObject({ value: 'B', reason: 'TARGETING_MATCH', ruleId: 'qa' });
    expect(exp.resolve({ userId: 'u' }, undefined, clock)).toMatchObject({ value: 'A', variant: 'a', reason: 'DEFAULT' });
    expect(exp.resolve({}, undefined, clock)).toMatchObject({ value: 'A', variant: 'a', reason: 'DEFAULT' });
  });

  it('exposes version and segment keys without the definition', () => {
    const segments: Segment[] = [{ key: 'staff', conditions: [] }, { key: 'beta', conditions: [] }];
    const compiled = compileFlag(flag('seg', { rules: [{ id: 'a', segments: ['staff', 'beta'] }, { id: 'b', segments: ['staff'] }] }, { version: 7 }), segments, 'production');
    expect(compiled).toBeInstanceOf(CompiledFlag);
    expect(compiled.key).toBe('seg');
    expect(compiled.version).toBe(7);
    expect(compiled.segmentKeys).toEqual(['staff', 'beta']);
    expect(compileFlag(flag('plain', {}), [], 'production').segmentKeys).toEqual([]);
    expect(compileFlag(flag('plain', {}), [], 'production').isExperiment).toBe(false);
  });
});

describe('EvaluationEngine.load on untrusted input', () => {
  it('rejects a flag whose variants is null instead of failing the whole load', () => {
    const engine = new EvaluationEngine('production', { clock });
    const bad = { ...flag('bad', {}), variants: null } as unknown as FlagDefinition;
    const report = engine.load({ environment: 'production', flags: [flag('good', {}), bad] });
    expect(report.loaded).toBe(1);
    expect(report.rejected).toEqual([{ key: 'bad', problems: [expect.objectContaining({ path: 'variants' })] }]);
    expect(engine.isEnabled('good', {})).toBe(true);
  });
});

describe('reasons are the same whichever way a flag was built', () => {
  const engine = new EvaluationEngine('production', { clock });
  // What the gateway's simple create writes (a strategy's default rollout, maybe a first "target-users" rule) next
  // to the equivalent full definitions.
  const targetUsers = { id: 'target-users', rollout: { type: 'user_list' as const, users: ['vip'] } };
  engine.load({
    environment: 'production',
    flags: [
      flag('simple-all', { defaultRollout: { type: 'all_users' } }),
      flag('simple-100', { defaultRollout: { type: 'percentage', ppm: 1_000_000 } }),
      flag('simple-0', { defaultRollout: { type: 'percentage', ppm: 0 } }),
      flag('simple-environment', { defaultRollout: { type: 'environment', environments: ['production'] } }),
      flag('full-none', { defaultRollout: { type: 'none' }, rules: [] }),
      flag('simple-users', { defaultRollout: { type: 'user_list', users: ['vip'] } }),
      flag('simple-all-plus-users', { rules: [targetUsers], defaultRollout: { type: 'none' } }),
      flag('full-rule-then-all', { rules: [{ id: 'vip', conditions: [{ attribute: 'userId', operator: 'equals', values: ['vip'] }] }] }),
      flag('with-metadata', {}, { metadata: { ticket: 'RG-1', revision: 3, reviewed: true } }),
    ],
  });
  const reason = (key: string, userId = 'someone') => engine.evaluate(key, { userId }, false);

  it('no rules and a constant rollout: STATIC, on or off', () => {
    for (const key of ['simple-all', 'simple-100', 'simple-environment']) expect(reason(key)).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });
    for (const key of ['simple-0', 'full-none']) expect(reason(key)).toMatchObject({ value: false, variant: 'off', reason: 'STATIC' });
  });

  it('a listed unit is TARGETING_MATCH, anyone else falls through to DEFAULT', () => {
    for (const key of ['simple-users', 'simple-all-plus-users', 'full-rule-then-all']) expect(reason(key, 'vip')).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(reason('simple-users')).toMatchObject({ value: false, reason: 'DEFAULT' });
    expect(reason('simple-all-plus-users')).toMatchObject({ value: false, reason: 'DEFAULT' });
    expect(reason('full-rule-then-all')).toMatchObject({ value: true, reason: 'DEFAULT' });
  });

  it('returns the flag metadata with every result of that flag, and none with results of others', () => {
    const metadata = { ticket: 'RG-1', revision: 3, reviewed: true };
    expect(reason('with-metadata').metadata).toEqual(metadata);
    expect(Object.isFrozen(reason('with-metadata').metadata)).toBe(true);
    expect(engine.evaluate('with-metadata', {}, 'text')).toMatchObject({ reason: 'ERROR', errorCode: 'TYPE_MISMATCH', metadata });
    expect(reason('simple-all').metadata).toBeUndefined();
    expect(engine.evaluate('unknown', {}, false).metadata).toBeUndefined();
  });
});
