import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { RollgateError } from '#rollgate/platform';
import type { FlagDefinition } from '#rollgate/evaluation';
import { CreateFeatureFlagDto, UpdateFeatureFlagDto } from './feature-flag.dto.js';
import { flagFromCreate, percentToPpm, rolloutFromBody, stepsFromUpdate, TARGET_USERS_RULE_ID } from './seed-mapping.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const create = (body: Record<string, unknown>) => flagFromCreate(plainToInstance(CreateFeatureFlagDto, body), NOW);
const fieldsOf = (fn: () => unknown): Record<string, string[]> => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RollgateError);
    expect((error as RollgateError).code).toBe('GENERIC.VALIDATION');
    return ((error as RollgateError).details as { fields: Record<string, string[]> }).fields;
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

  it('refuses an experiment without variants and variants on a boolean flag, with model paths', () => {
    expect(fieldsOf(() => create({ name: 'x', flag_type: 'experiment' }))).toEqual({ 'flag.variants': ['an experiment needs at least one variant'] });
    expect(Object.keys(fieldsOf(() => create({ name: 'x', variants: [{ key: 'a', weight: 1 }] })))).toEqual(['flag.variants']);
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

  it('refuses a full model with problems (snake_case paths) and mixing both forms', () => {
    expect(
      fieldsOf(() => create({ flag: { key: 'Bad Key', name: 'x', type: 'boolean', environments: { prod: { enabled: true, default_rollout: { type: 'percentage', ppm: 2_000_000 } } } } })),
    ).toEqual({
      'flag.key': ['must match /^[a-z0-9][a-z0-9_-]{0,99}$/'],
      'flag.environments.prod.default_rollout.ppm': ['must be an integer in 0..1000000'],
    });
    expect(fieldsOf(() => create({ flag: { key: 'k' }, name: 'k', rollout_percentage: 5 }))).toEqual({
      name: ['must not be sent together with flag'],
      rollout_percentage: ['must not be sent together with flag'],
    });
  });
});

describe(stepsFromUpdate.name, () => {
  const current: FlagDefinition = {
    key: 'f', name: 'f', type: 'boolean', version: 4,
    environments: {
      development: { enabled: true, defaultRollout: { type: 'all_users' } },
      staging: { enabled: false, defaultRollout: { type: 'all_users' } },
      production: { enabled: true, defaultRollout: { type: 'percentage', ppm: 10_000 } },
    },
  };
  const steps = (body: Record<string, unknown>) => stepsFromUpdate(plainToInstance(UpdateFeatureFlagDto, body), current, NOW);

  it('details → one update-details', () => {
    expect(steps({ description: 'd', display_name: 'F', tags: ['t'], owner: 'o' })).toEqual([
      { verb: 'update-details', payload: { changes: { name: 'F', description: 'd', tags: ['t'], owner: 'o' } } },
    ]);
  });

  it('a percentage without targets changes the rollout of every enabled environment', () => {
    expect(steps({ rollout_percentage: 25 })).toEqual([
      { verb: 'change-rollout', payload: { environment: 'development', rollout: { type: 'percentage', ppm: 250_000 } } },
      { verb: 'change-rollout', payload: { environment: 'production', rollout: { type: 'percentage', ppm: 250_000 } } },
    ]);
  });

  it('target_environments toggles to exactly the targets and adds a missing one', () => {
    expect(steps({ target_environments: ['staging', 'qa'] })).toEqual([
      { verb: 'toggle', payload: { environment: 'staging', enabled: true } },
      { verb: 'configure-environment', payload: { environment: 'qa', config: { enabled: true, defaultRollout: { type: 'percentage', ppm: 10_000 } } } },
      { verb: 'toggle', payload: { environment: 'development', enabled: false } },
      { verb: 'toggle', payload: { environment: 'production', enabled: false } },
    ]);
  });

  it('rollout with targets: the rollout goes to the targets, then the toggles', () => {
    expect(steps({ rollout_strategy: 'user_list', user_ids: ['u1'], target_environments: ['production'] })).toEqual([
      { verb: 'change-rollout', payload: { environment: 'production', rollout: { type: 'user_list', users: ['u1'] } } },
      { verb: 'toggle', payload: { environment: 'development', enabled: false } },
    ]);
  });

  it('retargeting an environment-strategy flag rewrites its environment list before toggling', () => {
    const environmentFlag: FlagDefinition = {
      key: 'e', name: 'e', type: 'environment', version: 2,
      environments: {
        staging: { enabled: true, defaultRollout: { type: 'environment', environments: ['staging'] } },
        production: { enabled: false, defaultRollout: { type: 'environment', environments: ['staging'] } },
      },
    };
    const onProduction = { type: 'environment', environments: ['production'] };
    expect(stepsFromUpdate(plainToInstance(UpdateFeatureFlagDto, { target_environments: ['production'] }), environmentFlag, NOW)).toEqual([
      { verb: 'change-rollout', payload: { environment: 'staging', rollout: onProduction } },
      { verb: 'change-rollout', payload: { environment: 'production', rollout: onProduction } },
      { verb: 'toggle', payload: { environment: 'production', enabled: true } },
      { verb: 'toggle', payload: { environment: 'staging', enabled: false } },
    ]);
  });

  it('an empty body is a 400; a body matching the current state is no command', () => {
    expect(fieldsOf(() => steps({}))).toEqual({ body: ['has nothing to update'] });
    expect(steps({ target_environments: ['development', 'production'] })).toEqual([]);
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
