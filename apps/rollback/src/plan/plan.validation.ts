import {
  CAPACITY_STEPS,
  KEY_PATTERN,
  ON_FAILURE,
  ROLLBACK_SCOPES,
  ROLLBACK_TYPES,
  STEP_TYPES,
  SYSTEM_TARGET,
  TRAFFIC_STEPS,
  type PlanInput,
  type Problem,
  type RollbackCriteria,
  type StepDefinition,
  type StepType,
} from '#rollgate/contracts';

export const MAX_STEPS = 50;
const MAX_USERS = 10_000;
const MAX_WAIT_SECONDS = 3_600;

type Config = Record<string, unknown>;
type Check = (config: Config, at: string, problems: Problem[]) => void;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isKey = (value: unknown): value is string => typeof value === 'string' && KEY_PATTERN.test(value);
const isTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value);

const key = (config: Config, field: string, at: string, problems: Problem[], required = true): void => {
  if (config[field] === undefined && !required) return;
  if (!isKey(config[field])) problems.push({ path: `${at}.${field}`, message: `must match ${KEY_PATTERN.source}` });
};
const keys = (config: Config, field: string, at: string, problems: Problem[]): void => {
  const value = config[field];
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length === 0 || value.length > 50 || !value.every(isKey)) {
    problems.push({ path: `${at}.${field}`, message: 'must be 1-50 keys' });
  }
};
const int = (config: Config, field: string, at: string, problems: Problem[], min: number, max: number, required = false): void => {
  const value = config[field];
  if (value === undefined && !required) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push({ path: `${at}.${field}`, message: `must be an integer in [${min}, ${max}]` });
  }
};
const pastTime = (config: Config, field: string, at: string, problems: Problem[], now: Date): void => {
  const value = config[field];
  if (!isTime(value)) problems.push({ path: `${at}.${field}`, message: 'must be an ISO-8601 time' });
  else if (Date.parse(value) > now.getTime()) problems.push({ path: `${at}.${field}`, message: 'must not be in the future' });
};
const only = (config: Config, allowed: readonly string[], at: string, problems: Problem[]): void => {
  for (const field of Object.keys(config)) {
    if (!allowed.includes(field)) problems.push({ path: `${at}.${field}`, message: 'is not a field of this step' });
  }
};

/** Each kind's config check: fields, types, ranges. Unknown fields are refused (a typo must not be silently ignored). */
const CHECKS = (now: Date): Record<StepType, Check> => ({
  disable_feature_flag: (c, at, p) => {
    only(c, ['flagId', 'environments'], at, p);
    key(c, 'flagId', at, p);
    keys(c, 'environments', at, p);
  },
  disable_environment: (c, at, p) => {
    only(c, ['environment'], at, p);
    key(c, 'environment', at, p, false);
  },
  set_rollout: (c, at, p) => {
    only(c, ['flagId', 'percentage', 'environments'], at, p);
    key(c, 'flagId', at, p);
    keys(c, 'environments', at, p);
    const percentage = c['percentage'];
    if (typeof percentage !== 'number' || !Number.isFinite(percentage) || percentage < 0 || percentage > 100) {
      p.push({ path: `${at}.percentage`, message: 'must be a number in [0, 100]' });
    }
  },
  restore_feature_flag: (c, at, p) => {
    only(c, ['flagId', 'toVersion', 'asOf'], at, p);
    key(c, 'flagId', at, p);
    if ((c['toVersion'] === undefined) === (c['asOf'] === undefined)) p.push({ path: `${at}.toVersion`, message: 'exactly one of toVersion, asOf' });
    else if (c['toVersion'] !== undefined) int(c, 'toVersion', at, p, 1, 2_147_483_647, true);
    else pastTime(c, 'asOf', at, p, now);
  },
  restore_environment: (c, at, p) => {
    only(c, ['environment', 'asOf'], at, p);
    key(c, 'environment', at, p);
    pastTime(c, 'asOf', at, p, now);
  },
  restore_system: (c, at, p) => {
    only(c, ['asOf'], at, p);
    pastTime(c, 'asOf', at, p, now);
  },
  remove_user_group: (c, at, p) => {
    only(c, ['segment', 'users', 'environments'], at, p);
    key(c, 'segment', at, p, false);
    keys(c, 'environments', at, p);
    const users = c['users'];
    if (users !== undefined && (!Array.isArray(users) || users.length === 0 || users.length > MAX_USERS || !users.every((u) => typeof u === 'string' && u.length > 0 && u.length <= 256))) {
      p.push({ path: `${at}.users`, message: `must be 1-${MAX_USERS} user ids` });
    }
    if (c['segment'] === undefined && users === undefined) p.push({ path: `${at}.segment`, message: 'segment or users is required' });
  },
  end_canary: (c, at, p) => {
    only(c, ['canaryId', 'outcome'], at, p);
    key(c, 'canaryId', at, p);
    if (c['outcome'] !== undefined && c['outcome'] !== 'rolled_back' && c['outcome'] !== 'aborted') {
      p.push({ path: `${at}.outcome`, message: 'must be rolled_back or aborted' });
    }
  },
  wait_for_propagation: (c, at, p) => {
    only(c, ['environments', 'timeoutSeconds', 'minClients'], at, p);
    keys(c, 'environments', at, p);
    int(c, 'timeoutSeconds', at, p, 1, MAX_WAIT_SECONDS);
    int(c, 'minClients', at, p, 0, 100_000);
  },
  restart_service: (c, at, p) => {
    only(c, ['serviceName', 'namespace'], at, p);
    dnsName(c, 'serviceName', at, p, true);
    dnsName(c, 'namespace', at, p, false);
  },
  scale_service: (c, at, p) => {
    only(c, ['serviceName', 'namespace', 'replicas'], at, p);
    dnsName(c, 'serviceName', at, p, true);
    dnsName(c, 'namespace', at, p, false);
    int(c, 'replicas', at, p, 0, 10_000, true);
  },
  call_webhook: (c, at, p) => {
    only(c, ['url', 'payload', 'maxAttempts', 'timeoutMs'], at, p);
    const url = c['url'];
    let ok = false;
    try {
      ok = typeof url === 'string' && url.length <= 2_000 && ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) p.push({ path: `${at}.url`, message: 'must be an http(s) URL' });
    if (c['payload'] !== undefined && !isObject(c['payload'])) p.push({ path: `${at}.payload`, message: 'must be an object' });
    int(c, 'maxAttempts', at, p, 1, 10);
    int(c, 'timeoutMs', at, p, 100, 60_000);
  },
});

// A Kubernetes object name (RFC 1123 label).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
function dnsName(config: Config, field: string, at: string, problems: Problem[], required: boolean): void {
  const value = config[field];
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || !DNS_LABEL.test(value)) problems.push({ path: `${at}.${field}`, message: 'must be a Kubernetes name (RFC 1123 label)' });
}

/**
 * The problems of a step list: known kinds, valid configs, and traffic first, capacity second (no Kubernetes
 * step before a flag step: removing capacity while traffic still flows to the broken path is how scale-downs
 * cause outages).
 */
export function stepProblems(steps: unknown, path: string, now: Date): Problem[] {
  const problems: Problem[] = [];
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > MAX_STEPS) {
    return [{ path, message: `must be 1-${MAX_STEPS} steps` }];
  }
  const checks = CHECKS(now);
  let firstCapacity: number | undefined;
  steps.forEach((step: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(step)) {
      problems.push({ path: at, message: 'must be { type, config }' });
      return;
    }
    for (const field of Object.keys(step)) {
      if (!['type', 'config', 'continueOnFailure'].includes(field)) problems.push({ path: `${at}.${field}`, message: 'is not a field of a step' });
    }
    const type = step['type'];
    if (typeof type !== 'string' || !(STEP_TYPES as readonly string[]).includes(type)) {
      problems.push({ path: `${at}.type`, message: `must be one of ${STEP_TYPES.join(', ')}` });
      return;
    }
    if (step['continueOnFailure'] !== undefined && typeof step['continueOnFailure'] !== 'boolean') {
      problems.push({ path: `${at}.continueOnFailure`, message: 'must be a boolean' });
    }
    const config = step['config'] ?? {};
    if (!isObject(config)) {
      problems.push({ path: `${at}.config`, message: 'must be an object' });
      return;
    }
    checks[type as StepType](config, `${at}.config`, problems);
    if (CAPACITY_STEPS.has(type as StepType)) firstCapacity ??= i;
    else if (TRAFFIC_STEPS.has(type as StepType) && firstCapacity !== undefined) {
      problems.push({ path: `${at}.type`, message: `a flag step may not follow the capacity step ${path}[${firstCapacity}] (traffic first, capacity second)` });
    }
  });
  return problems;
}

const criteriaProblems = (criteria: unknown, path: string): Problem[] => {
  if (criteria === undefined) return [];
  if (!isObject(criteria)) return [{ path, message: 'must be an object' }];
  const problems: Problem[] = [];
  const rate = (field: keyof RollbackCriteria): void => {
    const value = criteria[field];
    if (value !== undefined && (typeof value !== 'number' || value < 0 || value > 1)) problems.push({ path: `${path}.${field}`, message: 'must be in [0, 1]' });
  };
  rate('maxErrorRate');
  rate('minSuccessRate');
  only(criteria, ['maxErrorRate', 'minSuccessRate', 'maxResponseTimeMs', 'minRequests', 'windowMinutes', 'environment'], path, problems);
  int(criteria, 'maxResponseTimeMs', path, problems, 1, 3_600_000);
  int(criteria, 'minRequests', path, problems, 1, 1_000_000_000);
  int(criteria, 'windowMinutes', path, problems, 1, 7 * 24 * 60);
  key(criteria, 'environment', path, problems, false);
  return problems;
};

/** Whether a target id fits its scope by shape alone (existence is the service's check). */
export const targetProblems = (scope: unknown, targetId: unknown, path = ''): Problem[] => {
  const at = (field: string) => (path === '' ? field : `${path}.${field}`);
  if (typeof scope !== 'string' || !(ROLLBACK_SCOPES as readonly string[]).includes(scope)) {
    return [{ path: at('scope'), message: `must be one of ${ROLLBACK_SCOPES.join(', ')}` }];
  }
  if (!isKey(targetId)) return [{ path: at('targetId'), message: `must match ${KEY_PATTERN.source}` }];
  if (scope === 'system_wide' && targetId !== SYSTEM_TARGET) return [{ path: at('targetId'), message: `must be ${SYSTEM_TARGET} for the system_wide scope` }];
  return [];
};

/** Every problem of a plan as written (the create payload's `plan`, or a plan with an update's changes applied). */
export function planProblems(plan: Partial<PlanInput>, now: Date, path = 'plan'): Problem[] {
  const problems: Problem[] = [];
  if (!isObject(plan)) return [{ path, message: 'must be an object' }];
  only(plan, ['id', 'name', 'description', 'rollbackType', 'scope', 'targetId', 'steps', 'criteria', 'onFailure'], path, problems);
  if (plan.id !== undefined && !isKey(plan.id)) problems.push({ path: `${path}.id`, message: `must match ${KEY_PATTERN.source}` });
  if (typeof plan.name !== 'string' || plan.name.trim() === '' || plan.name.length > 200) problems.push({ path: `${path}.name`, message: 'must be 1-200 characters' });
  if (plan.description !== undefined && (typeof plan.description !== 'string' || plan.description.length > 2_000)) {
    problems.push({ path: `${path}.description`, message: 'must be at most 2000 characters' });
  }
  if (!(ROLLBACK_TYPES as readonly unknown[]).includes(plan.rollbackType)) problems.push({ path: `${path}.rollbackType`, message: `must be one of ${ROLLBACK_TYPES.join(', ')}` });
  if (plan.onFailure !== undefined && !(ON_FAILURE as readonly unknown[]).includes(plan.onFailure)) problems.push({ path: `${path}.onFailure`, message: 'must be stop or compensate' });
  problems.push(...targetProblems(plan.scope, plan.targetId, path));
  problems.push(...stepProblems(plan.steps, `${path}.steps`, now));
  problems.push(...criteriaProblems(plan.criteria, `${path}.criteria`));
  if (plan.rollbackType === 'automatic' && plan.scope === 'feature_flag' && plan.criteria === undefined) {
    problems.push({ path: `${path}.criteria`, message: 'an automatic feature_flag plan needs rollback criteria to watch' });
  }
  return problems;
}

export const stepTypeOf = (step: StepDefinition): StepType => step.type;
