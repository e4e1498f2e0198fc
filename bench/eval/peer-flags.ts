import type { Condition, FlagDefinition } from '#rollgate/evaluation';

/**
 * The benchmark flags, written once per engine so that each one gets its native input
 * (perf-anchors.md, "Flag definitions"): `simple-on`, `rollout-10` (environment IN [production] and
 * 10 % on userId) and `rules-10` (nine non-matching attribute rules, then the rollout-10 rule).
 */
export const SCENARIOS = ['simple-on', 'rollout-10', 'rules-10'] as const;
export type Scenario = (typeof SCENARIOS)[number];

const PLANS = Array.from({ length: 9 }, (_, i) => `plan-${i}`);

// ---- Rollgate
const prodCondition: Condition = { attribute: 'environment', operator: 'in', values: ['production'] };

function rollgateRollout(key: string, percent: number): FlagDefinition {
  return {
    key, name: key, type: 'percentage', version: 1,
    environments: {
      production: {
        enabled: true,
        rules: [{ id: 'prod', conditions: [prodCondition], rollout: { type: 'percentage', ppm: percent * 10_000 } }],
        defaultRollout: { type: 'none' },
      },
    },
  };
}

export function rollgateFlags(): FlagDefinition[] {
  const rules10 = rollgateRollout('rules-10', 10);
  rules10.environments.production!.rules = [
    ...PLANS.map((plan, i) => ({ id: `plan-${i}`, conditions: [{ attribute: 'plan', operator: 'in' as const, values: [plan] }] })),
    ...rules10.environments.production!.rules!,
  ];
  return [
    { key: 'simple-on', name: 'simple-on', type: 'boolean', version: 1, environments: { production: { enabled: true, defaultRollout: { type: 'all_users' } } } },
    rollgateRollout('rollout-10', 10),
    rules10,
  ];
}

// ---- Unleash (client API "features" format)
function unleashRollout(name: string, percent: number) {
  return {
    name: 'flexibleRollout',
    parameters: { rollout: String(percent), stickiness: 'userId', groupId: name },
    constraints: [{ contextName: 'environment', operator: 'IN', values: ['production'] }],
  };
}

export function unleashFlags() {
  return [
    { name: 'simple-on', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
    { name: 'rollout-10', enabled: true, strategies: [unleashRollout('rollout-10', 10)] },
    {
      name: 'rules-10', enabled: true,
      strategies: [
        ...PLANS.map((plan) => ({ name: 'default', parameters: {}, constraints: [{ contextName: 'plan', operator: 'IN', values: [plan] }] })),
        unleashRollout('rules-10', 10),
      ],
    },
  ];
}

// ---- flagd (flag definition JSON)
const flagdVariants = { on: true, off: false };
const flagdRollout = (percent: number) => [
  { in: [{ var: 'environment' }, ['production']] }, { fractional: [['on', percent], ['off', 100 - percent]] },
];

export function flagdFlags(): Record<string, unknown> {
  return {
    'simple-on': { state: 'ENABLED', variants: flagdVariants, defaultVariant: 'on' },
    'rollout-10': { state: 'ENABLED', variants: flagdVariants, defaultVariant: 'off', targeting: { if: [...flagdRollout(10), 'off'] } },
    'rules-10': {
      state: 'ENABLED', variants: flagdVariants, defaultVariant: 'off',
      targeting: { if: [...PLANS.flatMap((plan) => [{ in: [{ var: 'plan' }, [plan]] }, 'on']), ...flagdRollout(10), 'off'] },
    },
  };
}

// ---- GrowthBook (SDK payload features)
const gbRollout = (percent: number) => ({ condition: { environment: { $in: ['production'] } }, force: true, coverage: percent / 100, hashAttribute: 'id' });

export function growthbookFeatures(): Record<string, unknown> {
  return {
    'simple-on': { defaultValue: true },
    'rollout-10': { defaultValue: false, rules: [gbRollout(10)] },
    'rules-10': { defaultValue: false, rules: [...PLANS.map((plan) => ({ condition: { plan: { $in: [plan] } }, force: true })), gbRollout(10)] },
  };
}

/** The 10 000-flag mix of perf-anchors.md §1b: flag i rolls out to (i mod 100) % with the environment condition; every 10th is plain on. */
export const MEMORY_FLAGS = 10_000;
export const memoryFlagKey = (i: number) => `flag-${i}`;
export const memoryIsPlain = (i: number) => i % 10 === 0;
export const memoryPercent = (i: number) => i % 100;

export function rollgateMemoryFlags(): FlagDefinition[] {
  return Array.from({ length: MEMORY_FLAGS }, (_, i) => memoryIsPlain(i)
    ? { key: memoryFlagKey(i), name: memoryFlagKey(i), type: 'boolean', version: 1, environments: { production: { enabled: true, defaultRollout: { type: 'all_users' } } } }
    : rollgateRollout(memoryFlagKey(i), memoryPercent(i)));
}

export function unleashMemoryFlags() {
  return Array.from({ length: MEMORY_FLAGS }, (_, i) => ({
    name: memoryFlagKey(i), enabled: true,
    strategies: [memoryIsPlain(i) ? { name: 'default', parameters: {}, constraints: [] } : unleashRollout(memoryFlagKey(i), memoryPercent(i))],
  }));
}

export function flagdMemoryFlags(): string {
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < MEMORY_FLAGS; i++) {
    flags[memoryFlagKey(i)] = memoryIsPlain(i)
      ? { state: 'ENABLED', variants: flagdVariants, defaultVariant: 'on' }
      : { state: 'ENABLED', variants: flagdVariants, defaultVariant: 'off', targeting: { if: [...flagdRollout(memoryPercent(i)), 'off'] } };
  }
  return JSON.stringify({ flags });
}

export function growthbookMemoryFeatures(): Record<string, unknown> {
  const features: Record<string, unknown> = {};
  for (let i = 0; i < MEMORY_FLAGS; i++) {
    features[memoryFlagKey(i)] = memoryIsPlain(i) ? { defaultValue: true } : { defaultValue: false, rules: [gbRollout(memoryPercent(i))] };
  }
  return features;
}
