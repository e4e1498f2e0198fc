import ipaddr from 'ipaddr.js';
import semver from 'semver';
import { asTime, compileRegex } from './condition.js';
import type { Condition, FlagDefinition, Rollout, Segment } from './flag.model.js';
import {
  FLAG_TYPES, MAX_MEMBER_LENGTH, MAX_METADATA_BYTES, MAX_METADATA_KEY_LENGTH, MAX_METADATA_KEYS, MAX_SEGMENT_MEMBERS, OPERATORS, PPM_MAX,
} from './flag.model.js';

export interface ValidationProblem {
  /** JSON-path-like location, e.g. `environments.production.rules[0].conditions[1].values[0]`. */
  path: string;
  message: string;
}

export const FLAG_KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,99}$/;
const MAX_REGEX_LENGTH = 1_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPpm = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= PPM_MAX;
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const OPERATOR_SET: ReadonlySet<unknown> = new Set(OPERATORS);
const TYPE_SET: ReadonlySet<unknown> = new Set(FLAG_TYPES);

/**
 * Collects problems under a path kept as a stack of segments (names, array indexes). The path text is
 * only built when a problem is reported, so a valid definition (the common case, e.g. every flag of
 * a snapshot) is checked without building a string per node.
 */
class Problems {
  readonly list: ValidationProblem[] = [];
  private readonly segments: Array<string | number> = [];

  constructor(private readonly root: string) {}

  enter(segment: string | number): void {
    this.segments.push(segment);
  }

  leave(): void {
    this.segments.pop();
  }

  /** A problem at the current path, or at `leaf` under it. */
  add(leaf: string | number | undefined, message: string): void {
    let path = this.root;
    for (const segment of this.segments) path = join(path, segment);
    if (leaf !== undefined) path = join(path, leaf);
    this.list.push({ path: path === '' ? '$' : path, message });
  }
}

function join(path: string, segment: string | number): string {
  if (typeof segment === 'number') return `${path}[${segment}]`;
  return path === '' ? segment : `${path}.${segment}`;
}

/** Literal checks for the operators that parse their values; the others only need strings or numbers. */
function literalProblem(operator: Condition['operator'], value: string | number | boolean, caseInsensitive: boolean): string | undefined {
  if (typeof value === 'boolean') return 'must be a string or a number (booleans only with in, not_in, equals, not_equals)';
  switch (operator) {
    case 'regex': {
      const text = String(value);
      if (text.length > MAX_REGEX_LENGTH) return `regex longer than ${MAX_REGEX_LENGTH} characters`;
      return compileRegex(text, caseInsensitive) === undefined ? 'invalid regular expression' : undefined;
    }
    case 'lt': case 'lte': case 'gt': case 'gte':
      return typeof value !== 'number' && (value.trim() === '' || !Number.isFinite(Number(value))) ? 'must be a number' : undefined;
    case 'before': case 'after':
      return asTime(value) === undefined ? 'must be an ISO-8601 date or epoch milliseconds' : undefined;
    case 'semver_eq': case 'semver_lt': case 'semver_gt':
      return semver.parse(String(value)) === null ? 'must be a semantic version (e.g. 1.2.3)' : undefined;
    case 'cidr':
      return ipaddr.isValidCIDR(String(value)) ? undefined : 'must be a CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)';
    default:
      return undefined;
  }
}

const PLAIN_OPERATORS: ReadonlySet<unknown> = new Set(['in', 'not_in', 'equals', 'not_equals', 'contains', 'starts_with', 'ends_with']);
/** The operators that compare a boolean attribute with a boolean value; the others read text, numbers, times. */
const BOOLEAN_OPERATORS: ReadonlySet<unknown> = new Set(['in', 'not_in', 'equals', 'not_equals']);

function validateCondition(condition: unknown, out: Problems): void {
  if (!isObject(condition)) {
    out.add(undefined, 'must be an object');
    return;
  }
  const c = condition as unknown as Condition;
  if (!isNonEmptyString(c.attribute)) out.add('attribute', 'must be a non-empty string');
  if (!OPERATOR_SET.has(c.operator)) {
    out.add('operator', `must be one of ${OPERATORS.join(', ')}`);
    return;
  }
  const values: unknown = c.values;
  if (!Array.isArray(values) || values.length === 0) {
    out.add('values', 'must be a non-empty array');
    return;
  }
  if ((c.operator === 'equals' || c.operator === 'not_equals') && values.length !== 1) {
    out.add('values', `${c.operator} takes exactly one value (use in / not_in for lists)`);
  }
  // Lists can hold 100 000 user ids: the per-value work is one type check unless the operator parses.
  const parses = !PLAIN_OPERATORS.has(c.operator);
  const caseInsensitive = c.caseInsensitive === true;
  for (let i = 0; i < values.length; i++) {
    const value: unknown = values[i];
    if (typeof value === 'boolean') {
      if (BOOLEAN_OPERATORS.has(c.operator)) continue;
    } else if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) {
      out.enter('values');
      out.add(i, 'must be a string, a finite number or a boolean');
      out.leave();
      continue;
    } else if (!parses) continue;
    const problem = literalProblem(c.operator, value, caseInsensitive);
    if (problem !== undefined) {
      out.enter('values');
      out.add(i, problem);
      out.leave();
    }
  }
  if (c.negate !== undefined && typeof c.negate !== 'boolean') out.add('negate', 'must be a boolean');
  if (c.caseInsensitive !== undefined && typeof c.caseInsensitive !== 'boolean') out.add('caseInsensitive', 'must be a boolean');
}

/** `conditions` sits at the current path under `name`. */
function validateConditions(conditions: unknown, name: string, out: Problems): void {
  if (conditions === undefined) return;
  out.enter(name);
  if (!Array.isArray(conditions)) {
    out.add(undefined, 'must be an array');
  } else {
    for (let i = 0; i < conditions.length; i++) {
      out.enter(i);
      validateCondition(conditions[i], out);
      out.leave();
    }
  }
  out.leave();
}

function someNot(items: readonly unknown[], test: (item: unknown) => boolean): boolean {
  for (let i = 0; i < items.length; i++) if (!test(items[i])) return true;
  return false;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** The rollout sits at the current path under `name`. */
function validateRollout(rollout: unknown, name: string, out: Problems): void {
  out.enter(name);
  checkRollout(rollout, out);
  out.leave();
}

function checkRollout(rollout: unknown, out: Problems): void {
  if (!isObject(rollout)) {
    out.add(undefined, 'must be an object');
    return;
  }
  const r = rollout as unknown as Rollout;
  const stickiness = (r as { stickiness?: unknown }).stickiness;
  if (stickiness !== undefined && !isNonEmptyString(stickiness)) out.add('stickiness', 'must be a non-empty string');
  switch (r.type) {
    case 'all_users':
    case 'none':
      return;
    case 'percentage':
      if (!isPpm(r.ppm)) out.add('ppm', `must be an integer in 0..${PPM_MAX}`);
      return;
    case 'user_list':
      if (!Array.isArray(r.users) || someNot(r.users, isString)) out.add('users', 'must be an array of strings');
      if (r.attribute !== undefined && !isNonEmptyString(r.attribute)) out.add('attribute', 'must be a non-empty string');
      return;
    case 'environment':
      if (!Array.isArray(r.environments) || someNot(r.environments, isNonEmptyString)) {
        out.add('environments', 'must be an array of environment names');
      }
      return;
    case 'gradual':
      if (!isPpm(r.from)) out.add('from', `must be an integer in 0..${PPM_MAX}`);
      if (!isPpm(r.to)) out.add('to', `must be an integer in 0..${PPM_MAX}`);
      if (!Number.isSafeInteger(r.start)) out.add('start', 'must be epoch milliseconds');
      if (!Number.isSafeInteger(r.end)) out.add('end', 'must be epoch milliseconds');
      else if (Number.isSafeInteger(r.start) && r.end <= r.start) out.add('end', 'must be after start');
      if (r.steps !== undefined && !(Number.isInteger(r.steps) && r.steps >= 1 && r.steps <= 10_000)) {
        out.add('steps', 'must be an integer in 1..10000');
      }
      return;
    default:
      out.add('type', 'must be one of all_users, none, percentage, user_list, environment, gradual');
  }
}

export function validateSegment(segment: unknown, path = ''): ValidationProblem[] {
  if (!isObject(segment)) return [{ path: path || '$', message: 'must be an object' }];
  const out = new Problems(path);
  const s = segment as unknown as Segment;
  if (typeof s.key !== 'string' || !FLAG_KEY_PATTERN.test(s.key)) out.add('key', `must match ${FLAG_KEY_PATTERN}`);
  if (!Array.isArray(s.conditions)) out.add('conditions', 'must be an array');
  else validateConditions(s.conditions, 'conditions', out);
  if (s.memberAttribute !== undefined && !isNonEmptyString(s.memberAttribute)) out.add('memberAttribute', 'must be a non-empty string');
  const members: unknown = s.members;
  if (members !== undefined) {
    if (s.memberAttribute === undefined) out.add('members', 'only a member list (memberAttribute set) has members');
    if (!Array.isArray(members)) out.add('members', 'must be an array of strings');
    else if (members.length > MAX_SEGMENT_MEMBERS) out.add('members', `must hold at most ${MAX_SEGMENT_MEMBERS} members`);
    // 100 000 members: one type and length check each, no path built unless one fails.
    else if (someNot(members, isMemberId)) out.add('members', `must be strings of 1..${MAX_MEMBER_LENGTH} characters`);
  }
  return out.list;
}

const isMemberId = (v: unknown): boolean => typeof v === 'string' && v.length > 0 && v.length <= MAX_MEMBER_LENGTH;

function validateVariants(d: FlagDefinition, out: Problems): Set<string> | null {
  const variantKeys = new Set<string>();
  const variants: unknown = d.variants;
  if (!Array.isArray(variants) || variants.length === 0) {
    out.add('variants', 'an experiment needs at least one variant');
  } else {
    let total = 0;
    out.enter('variants');
    for (let i = 0; i < variants.length; i++) {
      const v: unknown = variants[i];
      out.enter(i);
      if (!isObject(v) || typeof v.key !== 'string' || !FLAG_KEY_PATTERN.test(v.key)) {
        out.add('key', `must match ${FLAG_KEY_PATTERN}`);
      } else {
        if (variantKeys.has(v.key)) out.add('key', 'duplicate variant key');
        variantKeys.add(v.key);
        const weight = v.weight;
        if (!Number.isInteger(weight) || (weight as number) < 0 || (weight as number) > PPM_MAX) {
          out.add('weight', `must be an integer in 0..${PPM_MAX}`);
        } else total += weight as number;
      }
      out.leave();
    }
    out.leave();
    if (total === 0) out.add('variants', 'weights must sum to more than 0');
  }
  if (d.offVariant !== undefined && !variantKeys.has(d.offVariant)) out.add('offVariant', 'must name a variant');
  return variantKeys;
}

function validateRules(rules: unknown[], d: FlagDefinition, variantKeys: Set<string> | null,
  segments: ReadonlyMap<string, Segment> | undefined, out: Problems): void {
  // Duplicate ids: a linear scan over the earlier rules is cheaper than a Set for the usual few rules.
  const ruleIds = rules.length > 16 ? new Set<string>() : null;
  for (let i = 0; i < rules.length; i++) {
    const rule: unknown = rules[i];
    out.enter(i);
    if (!isObject(rule)) {
      out.add(undefined, 'must be an object');
      out.leave();
      continue;
    }
    const id = rule.id;
    if (!isNonEmptyString(id)) out.add('id', 'must be a non-empty string');
    else if (ruleIds !== null ? ruleIds.has(id) : earlierId(rules, i, id)) out.add('id', 'duplicate rule id');
    else ruleIds?.add(id);
    validateConditions(rule.conditions, 'conditions', out);
    if (rule.rollout !== undefined) validateRollout(rule.rollout, 'rollout', out);
    const keys = rule.segments;
    if (keys !== undefined) {
      if (!Array.isArray(keys)) out.add('segments', 'must be an array of segment keys');
      else {
        for (let j = 0; j < keys.length; j++) {
          const key: unknown = keys[j];
          if (typeof key !== 'string') reportSegment(out, j, 'must be a segment key');
          else if (segments !== undefined && !segments.has(key)) reportSegment(out, j, `unknown segment ${JSON.stringify(key)}`);
        }
      }
    }
    if (rule.variant !== undefined) {
      if (d.type !== 'experiment') out.add('variant', 'only experiment flags serve variants');
      else if (!variantKeys!.has(rule.variant as string)) out.add('variant', 'must name a variant');
    }
    out.leave();
  }
}

function reportSegment(out: Problems, index: number, message: string): void {
  out.enter('segments');
  out.add(index, message);
  out.leave();
}

/** Whether a rule before `index` already has `id` (only valid ids were counted, as with a Set). */
function earlierId(rules: unknown[], index: number, id: string): boolean {
  for (let i = 0; i < index; i++) {
    const rule = rules[i];
    if (isObject(rule) && rule.id === id) return true;
  }
  return false;
}

const utf8 = new TextEncoder();
const isMetadataValue = (v: unknown): boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/**
 * OpenFeature flag metadata is flat: string, finite number and boolean values only (no objects, arrays or null),
 * at most MAX_METADATA_KEYS keys of at most MAX_METADATA_KEY_LENGTH characters, MAX_METADATA_BYTES as JSON.
 */
export function metadataProblems(metadata: unknown, path = 'metadata'): ValidationProblem[] {
  const out = new Problems(path);
  validateMetadataAt(metadata, out);
  return out.list;
}

function validateMetadata(metadata: unknown, out: Problems): void {
  out.enter('metadata');
  validateMetadataAt(metadata, out);
  out.leave();
}

function validateMetadataAt(metadata: unknown, out: Problems): void {
  if (!isObject(metadata)) {
    out.add(undefined, 'must be an object of string, number and boolean values');
    return;
  }
  const keys = Object.keys(metadata);
  if (keys.length > MAX_METADATA_KEYS) out.add(undefined, `must have at most ${MAX_METADATA_KEYS} keys`);
  for (const key of keys) {
    if (key.length === 0 || key.length > MAX_METADATA_KEY_LENGTH) out.add(key, `keys must be 1..${MAX_METADATA_KEY_LENGTH} characters`);
    if (!isMetadataValue(metadata[key])) out.add(key, 'must be a string, a finite number or a boolean (metadata is flat)');
  }
  if (utf8.encode(JSON.stringify(metadata)).length > MAX_METADATA_BYTES) out.add(undefined, `must be at most ${MAX_METADATA_BYTES} bytes as JSON`);
}

/**
 * Every problem in a definition, with its path; empty when the flag can be stored and compiled.
 * With `segments`, rule references to unknown segments are problems too. Every environment is
 * checked, not only the one an engine serves: a snapshot is untrusted input.
 */
export function validateFlag(definition: unknown, segments?: ReadonlyMap<string, Segment>): ValidationProblem[] {
  if (!isObject(definition)) return [{ path: '$', message: 'must be an object' }];
  const out = new Problems('');
  const d = definition as unknown as FlagDefinition;
  if (typeof d.key !== 'string' || !FLAG_KEY_PATTERN.test(d.key)) out.add('key', `must match ${FLAG_KEY_PATTERN}`);
  if (typeof d.name !== 'string') out.add('name', 'must be a string');
  if (!TYPE_SET.has(d.type)) out.add('type', `must be one of ${FLAG_TYPES.join(', ')}`);
  if (!Number.isSafeInteger(d.version) || d.version < 0) out.add('version', 'must be a non-negative integer');
  if (d.salt !== undefined && !isNonEmptyString(d.salt)) out.add('salt', 'must be a non-empty string');
  if (d.stickiness !== undefined && !isNonEmptyString(d.stickiness)) out.add('stickiness', 'must be a non-empty string');
  if (d.tags !== undefined && (!Array.isArray(d.tags) || someNot(d.tags, isString))) out.add('tags', 'must be an array of strings');

  if (d.metadata !== undefined) validateMetadata(d.metadata, out);

  let variantKeys: Set<string> | null = null;
  if (d.type === 'experiment') {
    variantKeys = validateVariants(d, out);
  } else {
    // Anything but absent or [] (null included: reading its length used to throw out of validation).
    if (d.variants !== undefined && !(Array.isArray(d.variants) && d.variants.length === 0)) out.add('variants', `only experiment flags have variants (this is ${String(d.type)})`);
    if (d.offVariant !== undefined) out.add('offVariant', 'only experiment flags have an off variant');
  }

  const environments: unknown = d.environments;
  if (!isObject(environments)) {
    out.add('environments', 'must be an object keyed by environment');
    return out.list;
  }
  out.enter('environments');
  for (const env in environments) {
    if (!Object.hasOwn(environments, env)) continue;
    const config: unknown = environments[env];
    out.enter(env);
    if (!isObject(config)) {
      out.add(undefined, 'must be an object');
    } else {
      if (typeof config.enabled !== 'boolean') out.add('enabled', 'must be a boolean');
      validateRollout(config.defaultRollout, 'defaultRollout', out);
      const rules = config.rules;
      if (rules !== undefined) {
        if (!Array.isArray(rules)) out.add('rules', 'must be an array');
        else {
          out.enter('rules');
          validateRules(rules, d, variantKeys, segments, out);
          out.leave();
        }
      }
    }
    out.leave();
  }
  out.leave();
  return out.list;
}
