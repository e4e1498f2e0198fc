import { metadataProblems, type ValidationProblem } from '#rollgate/evaluation';

/**
 * Unknown-field checks for the nested definitions class-validator does not walk (a flag, its environments, rules,
 * conditions, rollouts, variants, and segments). `validateFlag` checks values; this refuses fields the model does
 * not have, so a typo (`ppms`, `enable`) is an error instead of a silently stored no-op.
 */
const FLAG_FIELDS = new Set([
  'key', 'name', 'description', 'type', 'tags', 'owner', 'variants', 'offVariant', 'environments', 'archived',
  'version', 'salt', 'stickiness', 'metadata',
]);
export const DETAIL_FIELDS = new Set(['name', 'description', 'tags', 'owner', 'variants', 'offVariant', 'salt', 'stickiness', 'metadata']);
const ENVIRONMENT_FIELDS = new Set(['enabled', 'rules', 'defaultRollout']);
const RULE_FIELDS = new Set(['id', 'description', 'conditions', 'segments', 'rollout', 'variant']);
const CONDITION_FIELDS = new Set(['attribute', 'operator', 'values', 'negate', 'caseInsensitive']);
const VARIANT_FIELDS = new Set(['key', 'payload', 'weight']);
const SEGMENT_FIELDS = new Set(['key', 'name', 'description', 'conditions', 'memberAttribute', 'members', 'version']);
const ROLLOUT_FIELDS: Record<string, Set<string>> = {
  all_users: new Set(['type']),
  none: new Set(['type']),
  percentage: new Set(['type', 'ppm', 'stickiness']),
  user_list: new Set(['type', 'users', 'attribute']),
  environment: new Set(['type', 'environments']),
  gradual: new Set(['type', 'from', 'to', 'start', 'end', 'steps', 'stickiness']),
};
const MAX_TEXT = { name: 200, description: 2_000, owner: 200 } as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownFields(value: unknown, allowed: Set<string>, path: string, out: ValidationProblem[]): void {
  if (!isObject(value)) return;
  for (const field of Object.keys(value)) {
    if (!allowed.has(field)) out.push({ path: path === '' ? field : `${path}.${field}`, message: 'unknown field' });
  }
}

export function rolloutShapeProblems(rollout: unknown, path: string, out: ValidationProblem[] = []): ValidationProblem[] {
  // Own keys only: a type such as `__proto__` must not find Object.prototype.
  if (isObject(rollout) && typeof rollout['type'] === 'string' && Object.hasOwn(ROLLOUT_FIELDS, rollout['type'])) {
    unknownFields(rollout, ROLLOUT_FIELDS[rollout['type']]!, path, out);
  }
  return out;
}

function conditionsShape(conditions: unknown, path: string, out: ValidationProblem[]): void {
  if (!Array.isArray(conditions)) return;
  conditions.forEach((condition, i) => unknownFields(condition, CONDITION_FIELDS, `${path}[${i}]`, out));
}

export function rulesShapeProblems(rules: unknown, path: string, out: ValidationProblem[] = []): ValidationProblem[] {
  if (!Array.isArray(rules)) return out;
  rules.forEach((rule, i) => {
    const at = `${path}[${i}]`;
    unknownFields(rule, RULE_FIELDS, at, out);
    if (!isObject(rule)) return;
    conditionsShape(rule['conditions'], `${at}.conditions`, out);
    if (rule['rollout'] !== undefined) rolloutShapeProblems(rule['rollout'], `${at}.rollout`, out);
  });
  return out;
}

export function environmentShapeProblems(config: unknown, path: string, out: ValidationProblem[] = []): ValidationProblem[] {
  unknownFields(config, ENVIRONMENT_FIELDS, path, out);
  if (!isObject(config)) return out;
  rolloutShapeProblems(config['defaultRollout'], `${path}.defaultRollout`, out);
  rulesShapeProblems(config['rules'], `${path}.rules`, out);
  return out;
}

function textProblems(value: Record<string, unknown>, out: ValidationProblem[]): void {
  for (const [field, max] of Object.entries(MAX_TEXT)) {
    const text = value[field];
    if (text === undefined) continue;
    if (typeof text !== 'string') out.push({ path: field, message: 'must be a string' });
    else if (text.length > max) out.push({ path: field, message: `must be at most ${max} characters` });
  }
  if (typeof value['name'] === 'string' && value['name'].trim() === '') out.push({ path: 'name', message: 'must not be empty' });
}

export function detailsShapeProblems(details: unknown, allowed: Set<string> = DETAIL_FIELDS): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  if (!isObject(details)) return [{ path: '$', message: 'must be an object' }];
  unknownFields(details, allowed, '', out);
  textProblems(details, out);
  if (details['metadata'] !== undefined) out.push(...metadataProblems(details['metadata']));
  if (Array.isArray(details['variants'])) {
    details['variants'].forEach((variant, i) => unknownFields(variant, VARIANT_FIELDS, `variants[${i}]`, out));
  }
  return out;
}

/** Unknown fields and oversized texts anywhere in a flag definition. */
export function flagShapeProblems(flag: unknown): ValidationProblem[] {
  if (!isObject(flag)) return [{ path: '$', message: 'must be an object' }];
  const out = detailsShapeProblems(flag, FLAG_FIELDS);
  const environments = flag['environments'];
  if (isObject(environments)) {
    for (const [environment, config] of Object.entries(environments)) {
      environmentShapeProblems(config, `environments.${environment}`, out);
    }
  }
  return out;
}

export function segmentShapeProblems(segment: unknown): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  unknownFields(segment, SEGMENT_FIELDS, '', out);
  if (isObject(segment)) conditionsShape(segment['conditions'], 'conditions', out);
  return out;
}

/** Segment keys referenced by the rules of any definition-like value (flag, environment config, rules). */
export function segmentKeysIn(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object' && item !== null) segmentKeysIn(item, into);
  } else if (isObject(value)) {
    for (const [field, child] of Object.entries(value)) {
      if (field === 'segments' && Array.isArray(child)) {
        for (const key of child) if (typeof key === 'string') into.add(key);
      } else if (typeof child === 'object' && child !== null) {
        segmentKeysIn(child, into);
      }
    }
  }
  return into;
}
