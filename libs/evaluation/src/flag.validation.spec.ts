import { compileFlag } from './compile-flag.js';
import { FlagValidationError } from './evaluation.errors.js';
import type { FlagDefinition } from './flag.model.js';
import { validateFlag, validateSegment } from './flag.validation.js';

const valid: FlagDefinition = {
  key: 'auto_submit_enabled', name: 'Auto submit', type: 'boolean', version: 1, tags: ['disputes'],
  environments: {
    production: {
      enabled: true,
      rules: [{ id: 'staff', conditions: [{ attribute: 'email', operator: 'ends_with', values: ['@rollgate.dev'] }] }],
      defaultRollout: { type: 'percentage', ppm: 100_000 },
    },
  },
};

const paths = (definition: unknown) => validateFlag(definition).map((p) => p.path);
const withProduction = (production: object): unknown => ({ ...valid, environments: { production: { enabled: true, defaultRollout: { type: 'all_users' }, ...production } } });
const withCondition = (condition: object) => withProduction({ rules: [{ id: 'r', conditions: [condition] }] });

describe(validateFlag.name, () => {
  it('accepts a valid definition', () => {
    expect(validateFlag(valid)).toEqual([]);
  });

  it.each([
    ['Upper', 'key'], ['-dash-first', 'key'], ['has.dot', 'key'], ['a'.repeat(101), 'key'],
  ])('rejects key %j', (key, path) => {
    expect(paths({ ...valid, key })).toEqual([path]);
  });

  it('accepts a 100-character key', () => {
    expect(paths({ ...valid, key: 'a'.repeat(100) })).toEqual([]);
  });

  it('rejects non-objects, bad types and versions', () => {
    expect(paths(null)).toEqual(['$']);
    expect(paths({ ...valid, type: 'toggle', version: -1 })).toEqual(['type', 'version']);
  });

  it.each([
    [{ type: 'percentage', ppm: 1_000_001 }, 'environments.production.defaultRollout.ppm'],
    [{ type: 'percentage', ppm: 10.5 }, 'environments.production.defaultRollout.ppm'],
    [{ type: 'percentage', ppm: -1 }, 'environments.production.defaultRollout.ppm'],
    [{ type: 'gradual', from: 0, to: 2_000_000, start: 10, end: 20 }, 'environments.production.defaultRollout.to'],
    [{ type: 'gradual', from: 0, to: 1_000, start: 20, end: 20 }, 'environments.production.defaultRollout.end'],
    [{ type: 'gradual', from: 0, to: 1_000, start: 10, end: 20, steps: 0 }, 'environments.production.defaultRollout.steps'],
    [{ type: 'user_list', users: [1] }, 'environments.production.defaultRollout.users'],
    [{ type: 'environment', environments: [''] }, 'environments.production.defaultRollout.environments'],
    [{ type: 'sometimes' }, 'environments.production.defaultRollout.type'],
  ])('rejects rollout %j', (defaultRollout, path) => {
    expect(paths(withProduction({ defaultRollout }))).toEqual([path]);
  });

  it.each([
    [{ attribute: 'a', operator: 'regex', values: ['(unclosed'] }, 'values[0]'],
    [{ attribute: 'a', operator: 'semver_lt', values: ['1.2'] }, 'values[0]'],
    [{ attribute: 'a', operator: 'cidr', values: ['10.0.0.0/33'] }, 'values[0]'],
    [{ attribute: 'a', operator: 'cidr', values: ['10.0.0.1'] }, 'values[0]'],
    [{ attribute: 'a', operator: 'before', values: ['yesterday'] }, 'values[0]'],
    [{ attribute: 'a', operator: 'gt', values: ['ten'] }, 'values[0]'],
    [{ attribute: 'a', operator: 'equals', values: ['x', 'y'] }, 'values'],
    [{ attribute: 'a', operator: 'in', values: [] }, 'values'],
    [{ attribute: 'a', operator: 'in', values: [{}] }, 'values[0]'],
    [{ attribute: 'a', operator: 'like', values: ['x'] }, 'operator'],
    [{ attribute: '', operator: 'in', values: ['x'] }, 'attribute'],
  ])('rejects condition %j', (condition, suffix) => {
    expect(paths(withCondition(condition))).toEqual([`environments.production.rules[0].conditions[0].${suffix}`]);
  });

  it('accepts valid literals of every checked kind', () => {
    for (const condition of [
      { attribute: 'v', operator: 'semver_gt', values: ['1.2.3-beta.1'] },
      { attribute: 'ip', operator: 'cidr', values: ['10.0.0.0/8', '2001:db8::/32'] },
      { attribute: 't', operator: 'after', values: ['2026-01-01', 1_700_000_000_000] },
      { attribute: 'n', operator: 'lte', values: ['3.5', 7] },
      { attribute: 's', operator: 'regex', values: ['^a+$'] },
    ]) expect(paths(withCondition(condition))).toEqual([]);
  });

  it('checks experiment variants, weights and references', () => {
    const experiment = { ...valid, type: 'experiment', offVariant: 'ghost', variants: [{ key: 'a', weight: 0 }, { key: 'a', weight: -1 }] };
    expect(paths(experiment)).toEqual(['variants[1].key', 'variants[1].weight', 'variants', 'offVariant']);
    expect(paths({ ...valid, variants: [{ key: 'a', weight: 1 }] })).toEqual(['variants']);
    expect(paths(withProduction({ rules: [{ id: 'r', variant: 'a' }] }))).toEqual(['environments.production.rules[0].variant']);
  });

  it('checks rule ids and segment references when segments are given', () => {
    const def = withProduction({ rules: [{ id: 'r', segments: ['known'] }, { id: 'r', segments: ['ghost'] }] });
    expect(paths(def)).toEqual(['environments.production.rules[1].id']);
    const known = new Map([['known', { key: 'known', conditions: [] }]]);
    expect(validateFlag(def, known).map((p) => p.path)).toEqual(['environments.production.rules[1].id', 'environments.production.rules[1].segments[0]']);
  });

  it('reports junk variants on a non-experiment instead of throwing (null used to throw)', () => {
    expect(paths({ ...valid, variants: null })).toEqual(['variants']);
    expect(paths({ ...valid, variants: 'a' })).toEqual(['variants']);
    expect(paths({ ...valid, variants: [] })).toEqual([]);
  });

  it('builds paths for nested problems only where they are', () => {
    const definition = {
      ...valid,
      environments: {
        'eu.west': { enabled: true, defaultRollout: { type: 'all_users' }, rules: [null, { id: 'r', segments: [7], conditions: [{ attribute: 'a', operator: 'in', values: ['x', null] }] }] },
        staging: 'on',
        dev: { enabled: 'yes', defaultRollout: { type: 'none' }, rules: {} },
      },
    };
    expect(paths(definition)).toEqual([
      'environments.eu.west.rules[0]',
      'environments.eu.west.rules[1].conditions[0].values[1]',
      'environments.eu.west.rules[1].segments[0]',
      'environments.staging',
      'environments.dev.enabled',
      'environments.dev.rules',
    ]);
  });

  it.each([3, 40])('finds duplicate rule ids among %i rules', (count) => {
    const rules = Array.from({ length: count }, (_, i) => ({ id: `r${i}` }));
    expect(paths(withProduction({ rules }))).toEqual([]);
    rules[count - 1] = { id: 'r1' };
    expect(paths(withProduction({ rules }))).toEqual([`environments.production.rules[${count - 1}].id`]);
  });

  it('checks every value of a long list, reporting the bad ones by index', () => {
    const values: unknown[] = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    values[9_999] = null;
    expect(paths(withCondition({ attribute: 'userId', operator: 'in', values }))).toEqual(['environments.production.rules[0].conditions[0].values[9999]']);
  });

  it('takes boolean condition values with the equality operators only', () => {
    expect(paths(withCondition({ attribute: 'customer', operator: 'equals', values: [false] }))).toEqual([]);
    expect(paths(withCondition({ attribute: 'customer', operator: 'in', values: [true, 'maybe'] }))).toEqual([]);
    expect(validateFlag(withCondition({ attribute: 'age', operator: 'gt', values: [true] }))).toEqual([{
      path: 'environments.production.rules[0].conditions[0].values[0]',
      message: 'must be a string or a number (booleans only with in, not_in, equals, not_equals)',
    }]);
    expect(paths(withCondition({ attribute: 'name', operator: 'contains', values: [false] }))).toEqual(['environments.production.rules[0].conditions[0].values[0]']);
  });

  it('checks flag metadata: flat, at most 32 keys, at most 4 KiB', () => {
    expect(validateFlag({ ...valid, metadata: { string: '1.0.2', integer: 2, boolean: true, float: 0.1 } })).toEqual([]);
    expect(paths({ ...valid, metadata: { nested: { a: 1 }, list: [1], infinite: Number.POSITIVE_INFINITY } }))
      .toEqual(['metadata.nested', 'metadata.list', 'metadata.infinite']);
    expect(paths({ ...valid, metadata: null })).toEqual(['metadata']);
    expect(paths({ ...valid, metadata: { big: 'x'.repeat(4_100) } })).toEqual(['metadata']);
  });

  it('is what compileFlag enforces', () => {
    const error = (() => {
      try {
        compileFlag({ ...valid, key: 'Nope' }, [], 'production');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FlagValidationError);
    expect((error as FlagValidationError).code).toBe('GENERIC.VALIDATION');
    expect((error as FlagValidationError).toJSON()).toMatchObject({ code: 'GENERIC.VALIDATION', details: [{ path: 'key' }] });
  });
});

describe(validateSegment.name, () => {
  it('checks key and conditions', () => {
    expect(validateSegment({ key: 'staff', conditions: [] })).toEqual([]);
    expect(validateSegment({ key: 'Staff', conditions: [{ attribute: 'a', operator: 'regex', values: ['['] }] }).map((p) => p.path))
      .toEqual(['key', 'conditions[0].values[0]']);
  });

  it('checks a member list: its attribute, at most 100 000 members of 1..256 characters, members only on a list', () => {
    const list = { key: 'vip', conditions: [], memberAttribute: 'userId' };
    expect(validateSegment({ ...list, members: Array.from({ length: 100_000 }, (_, i) => `u${i}`) })).toEqual([]);
    expect(validateSegment({ ...list, members: Array.from({ length: 100_001 }, (_, i) => `u${i}`) }).map((p) => p.path)).toEqual(['members']);
    expect(validateSegment({ ...list, members: ['ok', '', 'x'.repeat(257), 7] as never }).map((p) => p.path)).toEqual(['members']);
    expect(validateSegment({ key: 'vip', conditions: [], members: ['a'] }).map((p) => p.message)).toEqual(['only a member list (memberAttribute set) has members']);
    expect(validateSegment({ ...list, memberAttribute: '' }).map((p) => p.path)).toEqual(['memberAttribute']);
  });

  it('prefixes paths with the given one', () => {
    expect(validateSegment({ key: 'staff', conditions: [{ attribute: '', operator: 'in', values: ['x'] }] }, 'segments[2]').map((p) => p.path))
      .toEqual(['segments[2].conditions[0].attribute']);
    expect(validateSegment('nope', 'segments[2]')).toEqual([{ path: 'segments[2]', message: 'must be an object' }]);
  });
});
