import ipaddr from 'ipaddr.js';
import semver from 'semver';
import { asTime, compileRegex } from './condition.js';
import type { Condition, FlagDefinition, Rollout, Segment } from './flag.model.js';
import { FLAG_TYPES, OPERATORS, PPM_MAX } from './flag.model.js';

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

function validateCondition(condition: unknown, path: string, out: ValidationProblem[]): void {
  if (!isObject(condition)) {
    out.push({ path, message: 'must be an object' });
    return;
  }
  const c = condition as unknown as Condition;
  if (!isNonEmptyString(c.attribute)) out.push({ path: `${path}.attribute`, message: 'must be a non-empty string' });
  if (!OPERATORS.includes(c.operator)) {
    out.push({ path: `${path}.operator`, message: `must be one of ${OPERATORS.join(', ')}` });
    return;
  }
  if (!Array.isArray(c.values) || c.values.length === 0) {
    out.push({ path: `${path}.values`, message: 'must be a non-empty array' });
    return;
  }
  if ((c.operator === 'equals' || c.operator === 'not_equals') && c.values.length !== 1) {
    out.push({ path: `${path}.values`, message: `${c.operator} takes exactly one value (use in / not_in for lists)` });
  }
  c.values.forEach((value, i) => {
    const at = `${path}.values[${i}]`;
    if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) {
      out.push({ path: at, message: 'must be a string or a finite number' });
      return;
    }
    const text = String(value);
    switch (c.operator) {
      case 'regex':
        if (text.length > MAX_REGEX_LENGTH) out.push({ path: at, message: `regex longer than ${MAX_REGEX_LENGTH} characters` });
        else if (compileRegex(text, c.caseInsensitive === true) === undefined) out.push({ path: at, message: 'invalid regular expression' });
        break;
      case 'lt': case 'lte': case 'gt': case 'gte':
        if (typeof value !== 'number' && (text.trim() === '' || !Number.isFinite(Number(text)))) out.push({ path: at, message: 'must be a number' });
        break;
      case 'before': case 'after':
        if (asTime(value) === undefined) out.push({ path: at, message: 'must be an ISO-8601 date or epoch milliseconds' });
        break;
      case 'semver_eq': case 'semver_lt': case 'semver_gt':
        if (semver.parse(text) === null) out.push({ path: at, message: 'must be a semantic version (e.g. 1.2.3)' });
        break;
      case 'cidr':
        if (!ipaddr.isValidCIDR(text)) out.push({ path: at, message: 'must be a CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)' });
        break;
      default:
        break;
    }
  });
  if (c.negate !== undefined && typeof c.negate !== 'boolean') out.push({ path: `${path}.negate`, message: 'must be a boolean' });
  if (c.caseInsensitive !== undefined && typeof c.caseInsensitive !== 'boolean') {
    out.push({ path: `${path}.caseInsensitive`, message: 'must be a boolean' });
  }
}

function validateConditions(conditions: unknown, path: string, out: ValidationProblem[]): void {
  if (conditions === undefined) return;
  if (!Array.isArray(conditions)) {
    out.push({ path, message: 'must be an array' });
    return;
  }
  conditions.forEach((c, i) => validateCondition(c, `${path}[${i}]`, out));
}

function validateRollout(rollout: unknown, path: string, out: ValidationProblem[]): void {
  if (!isObject(rollout)) {
    out.push({ path, message: 'must be an object' });
    return;
  }
  const r = rollout as unknown as Rollout;
  const stickiness = (r as { stickiness?: unknown }).stickiness;
  if (stickiness !== undefined && !isNonEmptyString(stickiness)) out.push({ path: `${path}.stickiness`, message: 'must be a non-empty string' });
  switch (r.type) {
    case 'all_users':
    case 'none':
      return;
    case 'percentage':
      if (!isPpm(r.ppm)) out.push({ path: `${path}.ppm`, message: `must be an integer in 0..${PPM_MAX}` });
      return;
    case 'user_list':
      if (!Array.isArray(r.users) || r.users.some((u) => typeof u !== 'string')) out.push({ path: `${path}.users`, message: 'must be an array of strings' });
      if (r.attribute !== undefined && !isNonEmptyString(r.attribute)) out.push({ path: `${path}.attribute`, message: 'must be a non-empty string' });
      return;
    case 'environment':
      if (!Array.isArray(r.environments) || r.environments.some((e) => !isNonEmptyString(e))) {
        out.push({ path: `${path}.environments`, message: 'must be an array of environment names' });
      }
      return;
    case 'gradual':
      if (!isPpm(r.from)) out.push({ path: `${path}.from`, message: `must be an integer in 0..${PPM_MAX}` });
      if (!isPpm(r.to)) out.push({ path: `${path}.to`, message: `must be an integer in 0..${PPM_MAX}` });
      if (!Number.isSafeInteger(r.start)) out.push({ path: `${path}.start`, message: 'must be epoch milliseconds' });
      if (!Number.isSafeInteger(r.end)) out.push({ path: `${path}.end`, message: 'must be epoch milliseconds' });
      else if (Number.isSafeInteger(r.start) && r.end <= r.start) out.push({ path: `${path}.end`, message: 'must be after start' });
      if (r.steps !== undefined && !(Number.isInteger(r.steps) && r.steps >= 1 && r.steps <= 10_000)) {
        out.push({ path: `${path}.steps`, message: 'must be an integer in 1..10000' });
      }
      return;
    default:
      out.push({ path: `${path}.type`, message: 'must be one of all_users, none, percentage, user_list, environment, gradual' });
  }
}

export function validateSegment(segment: unknown, path = ''): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const at = (p: string) => (path === '' ? p : `${path}.${p}`);
  if (!isObject(segment)) return [{ path: path || '$', message: 'must be an object' }];
  const s = segment as unknown as Segment;
  if (typeof s.key !== 'string' || !FLAG_KEY_PATTERN.test(s.key)) out.push({ path: at('key'), message: `must match ${FLAG_KEY_PATTERN}` });
  if (!Array.isArray(s.conditions)) out.push({ path: at('conditions'), message: 'must be an array' });
  else validateConditions(s.conditions, at('conditions'), out);
  return out;
}

/**
 * Every problem in a definition, with its path; empty when the flag can be stored and compiled.
 * With `segments`, rule references to unknown segments are problems too.
 */
export function validateFlag(definition: unknown, segments?: ReadonlyMap<string, Segment>): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  if (!isObject(definition)) return [{ path: '$', message: 'must be an object' }];
  const d = definition as unknown as FlagDefinition;
  if (typeof d.key !== 'string' || !FLAG_KEY_PATTERN.test(d.key)) out.push({ path: 'key', message: `must match ${FLAG_KEY_PATTERN}` });
  if (typeof d.name !== 'string') out.push({ path: 'name', message: 'must be a string' });
  if (!FLAG_TYPES.includes(d.type)) out.push({ path: 'type', message: `must be one of ${FLAG_TYPES.join(', ')}` });
  if (!Number.isSafeInteger(d.version) || d.version < 0) out.push({ path: 'version', message: 'must be a non-negative integer' });
  if (d.salt !== undefined && !isNonEmptyString(d.salt)) out.push({ path: 'salt', message: 'must be a non-empty string' });
  if (d.stickiness !== undefined && !isNonEmptyString(d.stickiness)) out.push({ path: 'stickiness', message: 'must be a non-empty string' });
  if (d.tags !== undefined && (!Array.isArray(d.tags) || d.tags.some((t) => typeof t !== 'string'))) out.push({ path: 'tags', message: 'must be an array of strings' });

  const variantKeys = new Set<string>();
  if (d.type === 'experiment') {
    if (!Array.isArray(d.variants) || d.variants.length === 0) {
      out.push({ path: 'variants', message: 'an experiment needs at least one variant' });
    } else {
      let total = 0;
      d.variants.forEach((v, i) => {
        if (!isObject(v) || typeof v.key !== 'string' || !FLAG_KEY_PATTERN.test(v.key)) {
          out.push({ path: `variants[${i}].key`, message: `must match ${FLAG_KEY_PATTERN}` });
          return;
        }
        if (variantKeys.has(v.key)) out.push({ path: `variants[${i}].key`, message: 'duplicate variant key' });
        variantKeys.add(v.key);
        if (!Number.isInteger(v.weight) || v.weight < 0 || v.weight > PPM_MAX) {
          out.push({ path: `variants[${i}].weight`, message: `must be an integer in 0..${PPM_MAX}` });
        } else total += v.weight;
      });
      if (total === 0) out.push({ path: 'variants', message: 'weights must sum to more than 0' });
    }
    if (d.offVariant !== undefined && !variantKeys.has(d.offVariant)) out.push({ path: 'offVariant', message: 'must name a variant' });
  } else {
    if (d.variants !== undefined && d.variants.length > 0) out.push({ path: 'variants', message: `only experiment flags have variants (this is ${String(d.type)})` });
    if (d.offVariant !== undefined) out.push({ path: 'offVariant', message: 'only experiment flags have an off variant' });
  }

  if (!isObject(d.environments)) {
    out.push({ path: 'environments', message: 'must be an object keyed by environment' });
    return out;
  }
  for (const [env, config] of Object.entries(d.environments)) {
    const at = `environments.${env}`;
    if (!isObject(config)) {
      out.push({ path: at, message: 'must be an object' });
      continue;
    }
    if (typeof config.enabled !== 'boolean') out.push({ path: `${at}.enabled`, message: 'must be a boolean' });
    validateRollout(config.defaultRollout, `${at}.defaultRollout`, out);
    if (config.rules === undefined) continue;
    if (!Array.isArray(config.rules)) {
      out.push({ path: `${at}.rules`, message: 'must be an array' });
      continue;
    }
    const ruleIds = new Set<string>();
    config.rules.forEach((rule, i) => {
      const rp = `${at}.rules[${i}]`;
      if (!isObject(rule)) {
        out.push({ path: rp, message: 'must be an object' });
        return;
      }
      if (!isNonEmptyString(rule.id)) out.push({ path: `${rp}.id`, message: 'must be a non-empty string' });
      else if (ruleIds.has(rule.id)) out.push({ path: `${rp}.id`, message: 'duplicate rule id' });
      else ruleIds.add(rule.id);
      validateConditions(rule.conditions, `${rp}.conditions`, out);
      if (rule.rollout !== undefined) validateRollout(rule.rollout, `${rp}.rollout`, out);
      if (rule.segments !== undefined) {
        if (!Array.isArray(rule.segments)) out.push({ path: `${rp}.segments`, message: 'must be an array of segment keys' });
        else rule.segments.forEach((key, j) => {
          if (typeof key !== 'string') out.push({ path: `${rp}.segments[${j}]`, message: 'must be a segment key' });
          else if (segments !== undefined && !segments.has(key)) out.push({ path: `${rp}.segments[${j}]`, message: `unknown segment ${JSON.stringify(key)}` });
        });
      }
      if (rule.variant !== undefined) {
        if (d.type !== 'experiment') out.push({ path: `${rp}.variant`, message: 'only experiment flags serve variants' });
        else if (!variantKeys.has(rule.variant)) out.push({ path: `${rp}.variant`, message: 'must name a variant' });
      }
    });
  }
  return out;
}
