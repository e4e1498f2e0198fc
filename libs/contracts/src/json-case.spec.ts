import { pathToSnakeCase, toCamelCase, toSnakeCase } from './json-case.js';

describe('json-case', () => {
  it('renames field names both ways, and leaves environment names, payloads and contexts as the user wrote them', () => {
    const model = {
      targetId: 'checkout',
      environments: { eu_west: { defaultRollout: { type: 'percentage', ppm: 5 } } },
      variants: [{ key: 'a', payload: { someField: 1 } }],
      context: { userId: 'u1', plan_tier: 'pro' },
    };
    const http = toSnakeCase<Record<string, unknown>>(model);
    expect(http).toEqual({
      target_id: 'checkout',
      environments: { eu_west: { default_rollout: { type: 'percentage', ppm: 5 } } },
      variants: [{ key: 'a', payload: { someField: 1 } }],
      context: { userId: 'u1', plan_tier: 'pro' },
    });
    expect(toCamelCase(http)).toEqual(model);
  });

  it('renames validation paths but not the environment in them', () => {
    expect(pathToSnakeCase('environments.eu_west.defaultRollout.ppm')).toBe('environments.eu_west.default_rollout.ppm');
  });
});
