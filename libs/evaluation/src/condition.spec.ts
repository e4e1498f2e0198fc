import { compileCondition, compileConditions } from './condition.js';
import type { Condition, Operator } from './flag.model.js';

const test = (operator: Operator, values: Condition['values'], value: unknown, extra: Partial<Condition> = {}) =>
  compileCondition({ attribute: 'a', operator, values, ...extra })(value === undefined ? {} : { a: value });

describe(compileCondition.name, () => {
  it.each<[Operator, Condition['values'], unknown, boolean]>([
    ['in', ['x', 'y'], 'y', true],
    ['in', ['x', 'y'], 'z', false],
    ['in', [1, 2], 2, true],
    ['in', ['2'], 2, true],
    ['in', ['x'], { x: 1 }, false],
    ['not_in', ['x', 'y'], 'z', true],
    ['not_in', ['x', 'y'], 'x', false],
    ['equals', ['prod'], 'prod', true],
    ['equals', ['prod'], 'production', false],
    ['not_equals', ['prod'], 'dev', true],
    ['not_equals', ['prod'], 'prod', false],
    ['contains', ['@acme.'], 'bo@acme.com', true],
    ['contains', ['@acme.'], 'bo@other.com', false],
    ['starts_with', ['beta-', 'rc-'], 'rc-7', true],
    ['starts_with', ['beta-'], 'xbeta-', false],
    ['ends_with', ['.io'], 'a.io', true],
    ['ends_with', ['.io'], 'a.com', false],
    ['regex', ['^user-\\d+$'], 'user-17', true],
    ['regex', ['^user-\\d+$'], 'user-x', false],
    ['regex', ['^\\p{Lu}'], 'Élan', true],
    ['lt', [10], 9.5, true],
    ['lt', [10], 10, false],
    ['lte', [10], 10, true],
    ['lte', [10], '11', false],
    ['gt', [10], '10.5', true],
    ['gt', [10], 10, false],
    ['gte', [10], 10, true],
    ['gte', [10], 'ten', false],
    ['before', ['2026-01-01T00:00:00Z'], '2025-12-31T23:59:59Z', true],
    ['before', ['2026-01-01T00:00:00Z'], Date.parse('2026-01-01T00:00:00Z'), false],
    ['after', ['2026-01-01T00:00:00Z'], Date.parse('2026-01-02'), true],
    ['after', ['2026-01-01T00:00:00Z'], 'not a date', false],
    ['semver_eq', ['1.2.3'], '1.2.3', true],
    ['semver_eq', ['1.2.3'], '1.2.4', false],
    ['semver_lt', ['2.0.0'], '1.10.0', true],
    ['semver_lt', ['2.0.0'], '2.0.0-rc.1', true],
    ['semver_lt', ['2.0.0'], '2.0.1', false],
    ['semver_gt', ['1.9.0'], '1.10.0', true],
    ['semver_gt', ['1.9.0'], 'banana', false],
    ['cidr', ['10.0.0.0/8'], '10.42.0.1', true],
    ['cidr', ['10.0.0.0/8'], '11.0.0.1', false],
    ['cidr', ['10.0.0.0/8'], '::ffff:10.1.2.3', true],
    ['cidr', ['2001:db8::/32'], '2001:db8:1::1', true],
    ['cidr', ['2001:db8::/32'], '10.0.0.1', false],
    ['cidr', ['10.0.0.0/8'], 'not-an-ip', false],
  ])('%s %j on %j is %s', (operator, values, value, expected) => {
    expect(test(operator, values, value)).toBe(expected);
    expect(test(operator, values, value, { negate: true })).toBe(!expected);
  });

  it('treats a missing or null attribute as not matching, except for not_in / not_equals', () => {
    expect(test('in', ['x'], undefined)).toBe(false);
    expect(test('regex', ['.*'], undefined)).toBe(false);
    expect(test('not_in', ['x'], undefined)).toBe(true);
    expect(test('not_equals', ['x'], null)).toBe(true);
    expect(test('in', ['x'], undefined, { negate: true })).toBe(true);
  });

  it('folds case when asked', () => {
    expect(test('in', ['Alice'], 'ALICE', { caseInsensitive: true })).toBe(true);
    expect(test('in', ['Alice'], 'ALICE')).toBe(false);
    expect(test('starts_with', ['Beta'], 'beta-1', { caseInsensitive: true })).toBe(true);
    expect(test('regex', ['^beta'], 'BETA', { caseInsensitive: true })).toBe(true);
    expect(test('regex', ['^beta'], 'BETA')).toBe(false);
  });

  it('keeps in O(1) at 100 000 values', () => {
    const values = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
    const matcher = compileCondition({ attribute: 'userId', operator: 'in', values });
    expect(matcher({ userId: 'user-99999' })).toBe(true);
    expect(matcher({ userId: 'user-100000' })).toBe(false);
  });

  it.each<[Operator, Condition['values'], unknown, boolean]>([
    ['equals', [false], false, true],
    ['equals', [false], true, false],
    ['equals', [false], 'false', false],
    ['equals', ['false'], false, false],
    ['equals', [true], 1, false],
    ['not_equals', [true], false, true],
    ['not_equals', [true], true, false],
    ['in', [true, 'yes'], true, true],
    ['in', [true, 'yes'], 'yes', true],
    ['in', [true, 'yes'], 'true', false],
    ['in', [true, 'yes'], false, false],
    ['not_in', [false, 'no'], true, true],
    ['not_in', [false, 'no'], false, false],
    ['in', ['YES', false], 'yes', true],
  ])('boolean values: %s %j against %j is %s (booleans match booleans only)', (operator, values, value, expected) => {
    const caseInsensitive = values.includes('YES');
    expect(test(operator, values, value, { caseInsensitive })).toBe(expected);
  });

  it('shares one-value matchers without confusing true, "true" and 1', () => {
    const matchers = compileConditions([
      { attribute: 'flag', operator: 'equals', values: [true] },
    ])!;
    const text = compileConditions([{ attribute: 'flag', operator: 'equals', values: ['true'] }])!;
    expect(matchers({ flag: true })).toBe(true);
    expect(matchers({ flag: 'true' })).toBe(false);
    expect(text({ flag: 'true' })).toBe(true);
    expect(text({ flag: true })).toBe(false);
  });

  it('drops invalid literals instead of throwing (validation reports them)', () => {
    expect(test('regex', ['(unclosed'], '(unclosed')).toBe(false);
    expect(test('semver_eq', ['not-semver'], '1.0.0')).toBe(false);
    expect(test('cidr', ['10.0.0.0/99'], '10.0.0.1')).toBe(false);
  });
});

describe(compileConditions.name, () => {
  it('ANDs conditions and has no matcher for none', () => {
    const both = compileConditions([
      { attribute: 'country', operator: 'in', values: ['FR'] },
      { attribute: 'plan', operator: 'equals', values: ['pro'] },
    ])!;
    expect(both({ country: 'FR', plan: 'pro' })).toBe(true);
    expect(both({ country: 'FR', plan: 'free' })).toBe(false);
    expect(compileConditions([])).toBeUndefined();
  });
});
