import ipaddr from 'ipaddr.js';
import semver from 'semver';
import type { Condition, EvaluationContext } from './flag.model.js';
import { OPERATORS } from './flag.model.js';

export type Matcher = (context: EvaluationContext) => boolean;

type ValueTest = (value: unknown) => boolean;

/** Strings and finite numbers are comparable as text; anything else (objects, arrays, booleans) is not. */
function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Epoch milliseconds from a number (ms) or an ISO-8601 string. */
export function asTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value !== '') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses a CIDR literal; an IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) becomes its IPv4 range. */
export function parseCidr(text: string): Cidr | undefined {
  try {
    const [address, bits] = ipaddr.parseCIDR(text);
    if (address.kind() === 'ipv6') {
      const v6 = address as ipaddr.IPv6;
      if (v6.isIPv4MappedAddress() && bits >= 96) return [v6.toIPv4Address(), bits - 96];
    }
    return [address, bits];
  } catch {
    return undefined;
  }
}

/** Compiles a regex literal; undefined when the pattern is invalid (validation reports it). */
export function compileRegex(pattern: string, caseInsensitive: boolean): RegExp | undefined {
  try {
    return new RegExp(pattern, caseInsensitive ? 'iu' : 'u');
  } catch {
    return undefined;
  }
}

function textTest(condition: Condition, test: (text: string, literal: string) => boolean): ValueTest {
  const fold = condition.caseInsensitive === true;
  const literals = condition.values.map((v) => (fold ? String(v).toLowerCase() : String(v)));
  return (value) => {
    let text = asText(value);
    if (text === undefined) return false;
    if (fold) text = text.toLowerCase();
    for (let i = 0; i < literals.length; i++) if (test(text, literals[i]!)) return true;
    return false;
  };
}

/**
 * Set lookup: O(1) whatever the list size (user lists of 100 000 ids); one value is a plain compare. Boolean
 * literals match boolean attributes only, and text literals never match a boolean (`"false"` is not `false`).
 */
function membershipTest(condition: Condition): ValueTest {
  const fold = condition.caseInsensitive === true;
  const first = condition.values[0];
  if (condition.values.length === 1 && typeof first === 'boolean') return (value) => value === first;
  if (condition.values.length === 1 && !fold) {
    // A one-element Set costs ~240 bytes of heap; the compare costs nothing.
    const literal = String(first);
    return (value) => value === literal || (typeof value === 'number' && asText(value) === literal);
  }
  const booleans = condition.values.filter((v): v is boolean => typeof v === 'boolean');
  const texts = booleans.length === 0 ? condition.values : condition.values.filter((v) => typeof v !== 'boolean');
  const members = new Set(texts.map((v) => (fold ? String(v).toLowerCase() : String(v))));
  if (booleans.length > 0) {
    const text = fold ? (t: string) => t.toLowerCase() : (t: string) => t;
    return (value) => {
      if (typeof value === 'boolean') return booleans.includes(value);
      const t = asText(value);
      return t !== undefined && members.has(text(t));
    };
  }
  if (fold) {
    return (value) => {
      const text = asText(value);
      return text !== undefined && members.has(text.toLowerCase());
    };
  }
  return (value) => {
    const text = asText(value);
    return text !== undefined && members.has(text);
  };
}

function orderTest(literals: Array<number | undefined>, read: (v: unknown) => number | undefined,
  compare: (actual: number, literal: number) => boolean): ValueTest {
  const usable = literals.filter((v): v is number => v !== undefined);
  return (value) => {
    const actual = read(value);
    if (actual === undefined) return false;
    for (let i = 0; i < usable.length; i++) if (compare(actual, usable[i]!)) return true;
    return false;
  };
}

function semverTest(condition: Condition, compare: (actual: semver.SemVer, literal: semver.SemVer) => boolean): ValueTest {
  const literals = condition.values
    .map((v) => semver.parse(String(v)))
    .filter((v): v is semver.SemVer => v !== null);
  return (value) => {
    if (typeof value !== 'string') return false;
    const actual = semver.parse(value);
    if (actual === null) return false;
    for (let i = 0; i < literals.length; i++) if (compare(actual, literals[i]!)) return true;
    return false;
  };
}

function cidrTest(condition: Condition): ValueTest {
  const ranges = condition.values
    .map((v) => parseCidr(String(v)))
    .filter((v): v is Cidr => v !== undefined);
  return (value) => {
    if (typeof value !== 'string' || !ipaddr.isValid(value)) return false;
    // process() turns IPv4-mapped IPv6 (::ffff:10.0.0.1) into IPv4, so one range covers both spellings.
    const address = ipaddr.process(value);
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i]!;
      if (address.kind() === range[0].kind() && address.match(range as never)) return true;
    }
    return false;
  };
}

function valueTest(condition: Condition): ValueTest {
  switch (condition.operator) {
    case 'in':
    case 'equals':
      return membershipTest(condition);
    case 'not_in':
    case 'not_equals': {
      const member = membershipTest(condition);
      return (value) => !member(value);
    }
    case 'contains':
      return textTest(condition, (text, literal) => text.includes(literal));
    case 'starts_with':
      return textTest(condition, (text, literal) => text.startsWith(literal));
    case 'ends_with':
      return textTest(condition, (text, literal) => text.endsWith(literal));
    case 'regex': {
      const patterns = condition.values
        .map((v) => compileRegex(String(v), condition.caseInsensitive === true))
        .filter((v): v is RegExp => v !== undefined);
      return (value) => {
        const text = asText(value);
        if (text === undefined) return false;
        for (let i = 0; i < patterns.length; i++) if (patterns[i]!.test(text)) return true;
        return false;
      };
    }
    case 'lt':
      return orderTest(condition.values.map(asNumber), asNumber, (a, b) => a < b);
    case 'lte':
      return orderTest(condition.values.map(asNumber), asNumber, (a, b) => a <= b);
    case 'gt':
      return orderTest(condition.values.map(asNumber), asNumber, (a, b) => a > b);
    case 'gte':
      return orderTest(condition.values.map(asNumber), asNumber, (a, b) => a >= b);
    case 'before':
      return orderTest(condition.values.map(asTime), asTime, (a, b) => a < b);
    case 'after':
      return orderTest(condition.values.map(asTime), asTime, (a, b) => a > b);
    case 'semver_eq':
      return semverTest(condition, (a, b) => semver.eq(a, b));
    case 'semver_lt':
      return semverTest(condition, (a, b) => semver.lt(a, b));
    case 'semver_gt':
      return semverTest(condition, (a, b) => semver.gt(a, b));
    case 'cidr':
      return cidrTest(condition);
    default: {
      const unknown: never = condition.operator;
      return () => unknown === undefined;
    }
  }
}

/**
 * Compiles a condition into a matcher. Literals (regexes, sets, semvers, CIDR ranges, dates) are parsed
 * once here; invalid literals are dropped, and `validateFlag` reports them before anything is stored.
 * A missing attribute gives `not_in`/`not_equals` true and every other operator false, before `negate`.
 */
export function compileCondition(condition: Condition): Matcher {
  const attribute = condition.attribute;
  const test = valueTest(condition);
  const missing = condition.operator === 'not_in' || condition.operator === 'not_equals';
  if (condition.negate === true) {
    return (context) => {
      const value = context[attribute];
      return !(value === undefined || value === null ? missing : test(value));
    };
  }
  return (context) => {
    const value = context[attribute];
    return value === undefined || value === null ? missing : test(value);
  };
}

// Flags repeat the same small conditions (environment, country, plan): compiled matchers are pure, so
// identical ones are shared. Bounded, and large lists are never keys. One-value conditions (the usual
// case) are looked up by attribute, then operator and flags, then the value itself (a number, a boolean and
// their text stay distinct: `before` reads them differently), so no key string is built for them.
const SHARED_LIMIT = 10_000;
const SHARED_MAX_VALUES = 16;
const shared = new Map<string, Matcher>();
const sharedSingle = new Map<string, Map<string, Map<string | number | boolean, Matcher>>>();
let sharedCount = 0;

function sharedCondition(condition: Condition): Matcher {
  const values = condition.values;
  if (values.length > SHARED_MAX_VALUES) return compileCondition(condition);
  if (values.length === 1) return sharedSingleCondition(condition, values[0]!);
  const key = JSON.stringify([condition.attribute, condition.operator, values, condition.negate === true, condition.caseInsensitive === true]);
  let matcher = shared.get(key);
  if (matcher === undefined) {
    matcher = compileCondition(condition);
    if (sharedCount < SHARED_LIMIT) {
      shared.set(key, matcher);
      sharedCount++;
    }
  }
  return matcher;
}

const OPERATOR_KEYS: ReadonlyMap<string, readonly string[]> = new Map(
  OPERATORS.map((operator) => [operator, [`${operator}`, `${operator}|n`, `${operator}|i`, `${operator}|n|i`]]),
);

function sharedSingleCondition(condition: Condition, value: string | number | boolean): Matcher {
  const variants = OPERATOR_KEYS.get(condition.operator);
  if (variants === undefined) return compileCondition(condition);
  const operatorKey = variants[(condition.negate === true ? 1 : 0) + (condition.caseInsensitive === true ? 2 : 0)]!;
  let byOperator = sharedSingle.get(condition.attribute);
  let byValue = byOperator?.get(operatorKey);
  let matcher = byValue?.get(value);
  if (matcher === undefined) {
    matcher = compileCondition(condition);
    if (sharedCount < SHARED_LIMIT) {
      if (byOperator === undefined) sharedSingle.set(condition.attribute, (byOperator = new Map()));
      if (byValue === undefined) byOperator.set(operatorKey, (byValue = new Map()));
      byValue.set(value, matcher);
      sharedCount++;
    }
  }
  return matcher;
}

/** All conditions must hold (AND). */
export function compileConditions(conditions: readonly Condition[]): Matcher | undefined {
  const matchers = conditions.map(sharedCondition);
  if (matchers.length === 0) return undefined;
  if (matchers.length === 1) return matchers[0];
  return (context) => {
    for (let i = 0; i < matchers.length; i++) if (!matchers[i]!(context)) return false;
    return true;
  };
}
