import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { RollgateError } from '#rollgate/platform';
import { CreateFeatureFlagDto, UpdateFeatureFlagDto } from './feature-flag.dto.js';
import { compileFlag, type Segment } from '#rollgate/evaluation';
import { runsOf, stepCommandId } from '../segments/member-lists.js';
import {
  flagFromCreate,
  INLINE_USERS_MAX,
  listSegmentKeyOf,
  percentToPpm,
  planCreate,
  rolloutFromBody,
  TARGET_USERS_RULE_ID,
  updateFromBody,
  updatePathToHttp,
} from './seed-mapping.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const create = (body: Record<string, unknown>) => flagFromCreate(plainToInstance(CreateFeatureFlagDto, body), NOW);
const fieldsOf = (fn: () => unknown): Record<string, string[]> => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RollgateError);
    expect((error as RollgateError).code).toBe('GENERIC.VALIDATION');
    const fields: Record<string, string[]> = {};
    for (const { path, message } of ((error as RollgateError).details as { problems: Array<{ path: string; message: string }> }).problems) {
      (fields[path] ??= []).push(message);
    }
    return fields;
  }
  throw new Error('expected a validation error');
};

describe(flagFromCreate.name, () => {
  it("maps the seed's create call as-is: percentage 10 in production, off elsewhere", () => {
    const flag = create({
      name: 'auto_submit_enabled',
      description: 'Enable automatic dispute submission',
      flag_type: 'boolean',
      rollout_strategy: 'percentage',
      rollout_percentage: 10.0,
      target_environments: ['production'],
    });
    const rollout = { type: 'percentage', ppm: 100_000 };
    expect(flag).toEqual({
      key: 'auto_submit_enabled',
      name: 'auto_submit_enabled',
      description: 'Enable automatic dispute submission',
      type: 'boolean',
      environments: {
        development: { enabled: false, defaultRollout: rollout },
        staging: { enabled: false, defaultRollout: rollout },
        production: { enabled: true, defaultRollout: rollout },
      },
    });
  });

  it.each([
    [0, 0],
    [100, 1_000_000],
    [0.0001, 1],
    [12.3456, 123_456],
    [99.9999, 999_999],
    [33.33333, 333_333],
  ])('percentage %p %% → %p ppm', (percent, ppm) => {
    expect(percentToPpm(percent)).toBe(ppm);
    const flag = create({ name: 'p', rollout_strategy: 'percentage', rollout_percentage: percent, target_environments: ['staging'] });
    expect(flag.environments['staging']).toEqual({ enabled: true, defaultRollout: { type: 'percentage', ppm } });
  });

  it('all_users (also the default strategy of a boolean flag)', () => {
    for (const body of [{ name: 'a', rollout_strategy: 'all_users' }, { name: 'a' }]) {
      const flag = create({ ...body, target_environments: ['development'] });
      expect(flag.type).toBe('boolean');
      expect(flag.environments['development']).toEqual({ enabled: true, defaultRollout: { type: 'all_users' } });
      expect(flag.environments['production']!.enabled).toBe(false);
    }
  });

  it('user_list from user_ids or target_users (merged, deduplicated); the user_list type implies the strategy', () => {
    const flag = create({ name: 'u', flag_type: 'user_list', user_ids: ['u1', 'u2'], target_users: ['u2', 'u3'], target_environments: ['production'] });
    expect(flag.type).toBe('user_list');
    expect(flag.environments['production']).toEqual({ enabled: true, defaultRollout: { type: 'user_list', users: ['u1', 'u2', 'u3'] } });
  });

  it('environment: on for everyone in the targets, off elsewhere; extra environments are added', () => {
    const flag = create({ name: 'e', flag_type: 'environment', target_environments: ['development', 'qa'] });
    const rollout = { type: 'environment', environments: ['development', 'qa'] };
    expect(Object.keys(flag.environments).sort()).toEqual(['development', 'production', 'qa', 'staging']);
    expect(flag.environments['qa']).toEqual({ enabled: true, defaultRollout: rollout });
    expect(flag.environments['production']).toEqual({ enabled: false, defaultRollout: rollout });
  });

  it('gradual: 0 → rollout_percentage from now over gradual_duration_hours, with steps', () => {
    const flag = create({
      name: 'g', rollout_strategy: 'gradual', rollout_percentage: 50, gradual_duration_hours: 2, gradual_steps: 4, target_environments: ['production'],
    });
    expect(flag.environments['production']!.defaultRollout).toEqual({
      type: 'gradual', from: 0, to: 500_000, start: NOW, end: NOW + 2 * 3_600_000, steps: 4,
    });
  });

  it('gradual defaults: to 100 % over 24 hours, continuous; an explicit start', () => {
    const flag = create({ name: 'g', rollout_strategy: 'gradual', gradual_start: '2026-02-01T00:00:00Z', target_environments: ['staging'] });
    const start = Date.parse('2026-02-01T00:00:00Z');
    expect(flag.environments['staging']!.defaultRollout).toEqual({ type: 'gradual', from: 0, to: 1_000_000, start, end: start + 24 * 3_600_000 });
  });

  it('users given with another strategy become a first rule serving them', () => {
    const flag = create({ name: 'p', rollout_strategy: 'percentage', rollout_percentage: 5, user_ids: ['vip'], target_environments: ['production'] });
    expect(flag.environments['production']!.rules).toEqual([
      { id: TARGET_USERS_RULE_ID, description: 'Users always served', rollout: { type: 'user_list', users: ['vip'] } },
    ]);
  });

  it('experiment flags take variants with weights and payloads', () => {
    const flag = create({
      name: 'x', flag_type: 'experiment', target_environments: ['production'],
      variants: [{ key: 'control', weight: 50 }, { key: 'treatment', weight: 50, payload: { colour: 'blue', maxItems: 3 } }],
    });
    expect(flag.variants).toEqual([{ key: 'control', weight: 50 }, { key: 'treatment', weight: 50, payload: { colour: 'blue', maxItems: 3 } }]);
    expect(flag.environments['production']).toEqual({ enabled: true, defaultRollout: { type: 'all_users' } });
  });

  it('requires rollout_percentage for the percentage strategy', () => {
    expect(fieldsOf(() => create({ name: 'p', rollout_strategy: 'percentage' }))).toEqual({
      rollout_percentage: ['is required by the percentage strategy'],
    });
  });

  it('accepts the full model form in snake_case, keeping environment names and variant payloads', () => {
    const flag = create({
      flag: {
        key: 'full', name: 'Full', type: 'experiment', off_variant: 'control', version: 7, archived: true,
        variants: [{ key: 'control', weight: 1, payload: { some_key: 1 } }, { key: 'b', weight: 1 }],
        environments: {
          eu_west: {
            enabled: true,
            default_rollout: { type: 'percentage', ppm: 250_000 },
            rules: [{ id: 'beta', conditions: [{ attribute: 'plan', operator: 'in', values: ['pro'], case_insensitive: true }], variant: 'b' }],
          },
        },
      },
    });
    expect(flag).toEqual({
      key: 'full', name: 'Full', type: 'experiment', offVariant: 'control',
      variants: [{ key: 'control', weight: 1, payload: { some_key: 1 } }, { key: 'b', weight: 1 }],
      environments: {
        eu_west: {
          enabled: true,
          defaultRollout: { type: 'percentage', ppm: 250_000 },
          rules: [{ id: 'beta', conditions: [{ attribute: 'plan', operator: 'in', values: ['pro'], caseInsensitive: true }], variant: 'b' }],
        },
      },
    });
  });

  it('leaves model values to the flags decider and refuses mixing both forms', () => {
    expect(create({ flag: { key: 'k', name: 'x', type: 'boolean', environments: { prod: { enabled: true, default_rollout: { type: 'percentage', ppm: 2_000_000 } } } } }))
      .toMatchObject({ environments: { prod: { defaultRollout: { ppm: 2_000_000 } } } });
    expect(fieldsOf(() => create({ flag: { key: 'k' }, name: 'k', rollout_percentage: 5 }))).toEqual({
      name: ['must not be sent together with flag'],
      rollout_percentage: ['must not be sent together with flag'],
    });
  });
});

describe(updateFromBody.name, () => {
  const update = (body: Record<string, unknown>) => updateFromBody(plainToInstance(UpdateFeatureFlagDto, body));

  it('translates the PUT body into the one update command: details, strategy input, targets; no planning', () => {
    expect(
      update({ display_name: 'New', description: 'd', rollout_percentage: 25, user_ids: ['a'], target_environments: ['production', 'staging'] }),
    ).toEqual({
      details: { name: 'New', description: 'd' },
      rollout: { strategy: 'percentage', percentage: 25 },
      targetEnvironments: ['production', 'staging'],
    });
    expect(update({ user_ids: ['a', 'b'], target_users: ['a'] })).toEqual({ rollout: { strategy: 'user_list', users: ['a', 'b'] } });
    expect(update({ rollout_strategy: 'gradual', gradual_duration_hours: 2, gradual_steps: 4 })).toEqual({
      rollout: { strategy: 'gradual', gradualDurationHours: 2, gradualSteps: 4 },
    });
    expect(update({})).toEqual({});
  });

  it("names the decider's problems as the PUT body's fields", () => {
    expect(
      ['details.name', 'details.variants[0].weight', 'rollout.percentage', 'rollout.users', 'targetEnvironments[1]', 'environments.eu_west.defaultRollout.ppm'].map(
        updatePathToHttp,
      ),
    ).toEqual(['display_name', 'variants[0].weight', 'rollout_percentage', 'user_ids', 'target_environments[1]', 'environments.eu_west.default_rollout.ppm']);
  });
});

describe(rolloutFromBody.name, () => {
  it('takes the simple fields or the model form, not both', () => {
    expect(rolloutFromBody({ rollout_percentage: 0.5 }, 'production', NOW)).toEqual({ type: 'percentage', ppm: 5_000 });
    expect(rolloutFromBody({ rollout_strategy: 'environment' }, 'staging', NOW)).toEqual({ type: 'environment', environments: ['staging'] });
    expect(rolloutFromBody({ rollout: { type: 'user_list', users: ['a'], attribute: 'account_id' } }, 'p', NOW)).toEqual({
      type: 'user_list', users: ['a'], attribute: 'account_id',
    });
    expect(Object.keys(fieldsOf(() => rolloutFromBody({ rollout: { type: 'all_users' }, rollout_percentage: 1 }, 'p', NOW)))).toEqual(['rollout']);
    expect(Object.keys(fieldsOf(() => rolloutFromBody({}, 'p', NOW)))).toEqual(['rollout']);
  });
});

describe(planCreate.name, () => {
  const plan = (body: Record<string, unknown>) => planCreate(plainToInstance(CreateFeatureFlagDto, body), NOW);
  const users = Array.from({ length: 31_000 }, (_, i) => `user-${i}`);

  it('keeps up to INLINE_USERS_MAX ids in the flag', () => {
    const small = plan({ name: 'u', flag_type: 'user_list', user_ids: users.slice(0, INLINE_USERS_MAX), target_environments: ['production'] });
    expect(small.list).toBeUndefined();
    expect(small.flag.environments['production']!.defaultRollout).toMatchObject({ type: 'user_list' });
  });

  it('puts a longer list in one member list segment that every environment serves by rule, instead of three copies', () => {
    const { flag, list } = plan({ name: 'big_list', flag_type: 'user_list', user_ids: users, target_environments: ['production'] });
    expect(list).toEqual({
      segment: { key: 'big_list-users', name: 'Users of big_list', description: 'The user ids of feature flag big_list', conditions: [], memberAttribute: 'userId' },
      members: users,
    });
    for (const environment of ['development', 'staging', 'production']) {
      expect(flag.environments[environment]).toEqual({
        enabled: environment === 'production',
        defaultRollout: { type: 'none' },
        rules: [{ id: TARGET_USERS_RULE_ID, description: 'Users always served', segments: ['big_list-users'] }],
      });
    }
    expect(JSON.stringify(flag).length).toBeLessThan(2_000);
    // It evaluates as the inline list did: members on by targeting, everyone else off.
    const segment: Segment = { ...list!.segment, members: list!.members };
    const compiled = compileFlag({ ...flag, version: 1 }, [segment], 'production');
    const clock = () => NOW;
    expect(compiled.resolve({ userId: 'user-30999' }, NOW, clock)).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(compiled.resolve({ userId: 'user-31000' }, NOW, clock)).toMatchObject({ value: false, reason: 'DEFAULT' });
  });

  it('with another strategy the list becomes the target-users rule and the rollout stays', () => {
    const { flag, list } = plan({ name: 'p', rollout_strategy: 'percentage', rollout_percentage: 5, user_ids: users, target_environments: ['production'] });
    expect(list?.segment.key).toBe('p-users');
    expect(flag.environments['production']).toMatchObject({ defaultRollout: { type: 'percentage', ppm: 50_000 }, rules: [{ segments: ['p-users'] }] });
  });

  it('names the list segment within the key pattern for the longest flag keys', () => {
    const key = 'k'.repeat(100);
    expect(listSegmentKeyOf(key)).toMatch(/^k{85}-[0-9a-f]{8}-users$/);
    expect(listSegmentKeyOf(key)).toHaveLength(100);
    expect(listSegmentKeyOf('k'.repeat(99))).not.toBe(listSegmentKeyOf(key));
  });
});

describe(runsOf.name, () => {
  it('cuts ids into runs whose JSON stays within the budget, in order, never an empty run but for no ids', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `u${i}`);
    const runs = runsOf(ids, 4_096);
    expect(runs.flat()).toEqual(ids);
    expect(runs.every((run) => JSON.stringify(run).length <= 4_096 && run.length > 0)).toBe(true);
    expect(runsOf([], 100)).toEqual([[]]);
    expect(runsOf(['x'.repeat(500)], 100)).toEqual([['x'.repeat(500)]]);
  });

  it('derives step command ids from the request id: stable, distinct, within the store limit', () => {
    expect(stepCommandId('key-1', 'list')).toBe(stepCommandId('key-1', 'list'));
    expect(stepCommandId('key-1', 'list')).not.toBe(stepCommandId('key-1', 'members-1'));
    expect(stepCommandId('x'.repeat(200), 'members-99').length).toBeLessThanOrEqual(200);
  });
});
