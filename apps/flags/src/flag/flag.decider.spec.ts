import fc from 'fast-check';
import { evolveFlag, type FlagEvent, type FlagState } from '#rollgate/contracts';
import { validateFlag, type FlagDefinition, type Rollout, type Segment } from '#rollgate/evaluation';
import { decideFlag, type FlagCommand } from './flag.decider.js';
import { FlagError } from './flag.errors.js';

const NOW = new Date('2026-01-01T00:00:00.000Z');

const created: FlagEvent = {
  type: 'FlagCreated',
  data: {
    flag: {
      key: 'checkout',
      name: 'Checkout',
      type: 'user_list',
      environments: {
        production: {
          enabled: true,
          rules: [{ id: 'beta', conditions: [{ attribute: 'plan', operator: 'in', values: ['beta'] }], rollout: { type: 'user_list', users: ['b1'] } }],
          defaultRollout: { type: 'user_list', users: ['u1'] },
        },
      },
    },
  },
};

const fold = (events: readonly FlagEvent[], from: FlagState = null): FlagState =>
  events.reduce<FlagState>((state, event, i) => evolveFlag(state, event, (from?.version ?? 0) + i + 1), from);

/** given events / when command / then events (or the error code). */
const given = (...events: FlagEvent[]) => ({
  when: (command: FlagCommand, segments?: ReadonlyMap<string, Segment>) => {
    const state = fold(events);
    const run = () => decideFlag(command, state, NOW, segments ? { segments } : {});
    return {
      then: (expected: FlagEvent[]) => expect(run()).toEqual(expected),
      thenFails: (code: string) => {
        let thrown: unknown;
        try {
          run();
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(FlagError);
        expect((thrown as FlagError).code).toBe(code);
        return thrown as FlagError;
      },
    };
  },
});

describe(decideFlag.name, () => {
  it('creates a flag that does not exist', () => {
    given().when({ type: 'CreateFlag', data: { flag: created.data.flag } }).then([created]);
  });

  it('refuses to create a flag twice', () => {
    given(created).when({ type: 'CreateFlag', data: { flag: created.data.flag } }).thenFails('FLAGS.ALREADY_EXISTS');
  });

  describe('UpdateFlag: details, rollout and targeting decided together', () => {
    const boolean: FlagEvent = {
      type: 'FlagCreated',
      data: {
        flag: {
          key: 'checkout',
          name: 'Checkout',
          type: 'boolean',
          environments: {
            production: { enabled: true, defaultRollout: { type: 'percentage', ppm: 100_000 } },
            staging: { enabled: false, defaultRollout: { type: 'percentage', ppm: 100_000 } },
          },
        },
      },
    };

    it('plans every change against the current state, in one batch', () => {
      given(boolean)
        .when({
          type: 'UpdateFlag',
          data: {
            key: 'checkout',
            details: { description: 'wider', name: 'Checkout' },
            rollout: { strategy: 'percentage', percentage: 25 },
            targetEnvironments: ['production', 'staging', 'eu_west'],
          },
        })
        .then([
          { type: 'FlagDetailsChanged', data: { changes: { description: 'wider' } } },
          { type: 'RolloutChanged', data: { environment: 'production', rollout: { type: 'percentage', ppm: 250_000 } } },
          { type: 'RolloutChanged', data: { environment: 'staging', rollout: { type: 'percentage', ppm: 250_000 } } },
          { type: 'FlagToggled', data: { environment: 'staging', enabled: true } },
          { type: 'EnvironmentConfigured', data: { environment: 'eu_west', config: { enabled: true, defaultRollout: { type: 'percentage', ppm: 250_000 } } } },
        ]);
    });

    it('switches off what is no longer targeted and starts a gradual ramp at now', () => {
      given(boolean)
        .when({ type: 'UpdateFlag', data: { key: 'checkout', rollout: { strategy: 'gradual', gradualDurationHours: 1 }, targetEnvironments: ['staging'] } })
        .then([
          { type: 'RolloutChanged', data: { environment: 'staging', rollout: { type: 'gradual', from: 0, to: 1_000_000, start: NOW.getTime(), end: NOW.getTime() + 3_600_000 } } },
          { type: 'FlagToggled', data: { environment: 'staging', enabled: true } },
          { type: 'FlagToggled', data: { environment: 'production', enabled: false } },
        ]);
    });

    it('refuses the whole update when one part is invalid, naming it by its payload path', () => {
      const missing = given(boolean)
        .when({ type: 'UpdateFlag', data: { key: 'checkout', details: { description: 'x' }, rollout: { strategy: 'percentage' }, targetEnvironments: ['production'] } })
        .thenFails('GENERIC.VALIDATION');
      expect(missing.details).toEqual({ problems: [{ path: 'rollout.percentage', message: 'is required by the percentage strategy' }] });
      const unknown = given(boolean)
        .when({ type: 'UpdateFlag', data: { key: 'checkout', rollout: { strategy: 'all_users', everyone: true } as never } })
        .thenFails('GENERIC.VALIDATION');
      expect(unknown.details).toEqual({ problems: [{ path: 'rollout.everyone', message: 'unknown field' }] });
      // Variants on a boolean flag: only the resulting flag shows it.
      const model = given(boolean)
        .when({ type: 'UpdateFlag', data: { key: 'checkout', details: { variants: [{ key: 'a', weight: 1 }] }, rollout: { strategy: 'all_users' } } })
        .thenFails('GENERIC.VALIDATION');
      expect(model.details).toEqual({ problems: [{ path: 'variants', message: 'only experiment flags have variants (this is boolean)' }] });
    });

    it('refuses an empty update, an unknown flag and an archived one', () => {
      given(boolean).when({ type: 'UpdateFlag', data: { key: 'checkout' } }).thenFails('GENERIC.VALIDATION');
      given().when({ type: 'UpdateFlag', data: { key: 'checkout', details: { description: 'x' } } }).thenFails('FLAGS.NOT_FOUND');
      given(boolean, { type: 'FlagArchived', data: {} })
        .when({ type: 'UpdateFlag', data: { key: 'checkout', rollout: { strategy: 'percentage', percentage: 50 } } })
        .thenFails('FLAGS.ARCHIVED');
    });

    it('is a no-op when nothing would change', () => {
      given(boolean)
        .when({ type: 'UpdateFlag', data: { key: 'checkout', details: { name: 'Checkout' }, rollout: { strategy: 'percentage', percentage: 10 }, targetEnvironments: ['production'] } })
        .then([]);
    });
  });

  it('refuses an invalid definition with the problems and their paths', () => {
    const error = given()
      .when({
        type: 'CreateFlag',
        data: { flag: { ...created.data.flag, environments: { production: { enabled: true, defaultRollout: { type: 'percentage', ppm: 2_000_000 } } } } },
      })
      .thenFails('GENERIC.VALIDATION');
    expect(error.details).toEqual({ problems: [{ path: 'flag.environments.production.defaultRollout.ppm', message: 'must be an integer in 0..1000000' }] });
  });

  it('refuses unknown fields anywhere in a definition', () => {
    const error = given()
      .when({
        type: 'CreateFlag',
        data: { flag: { ...created.data.flag, environments: { production: { enabled: true, defaultRollout: { type: 'all_users', ppm: 5 } as Rollout } } } },
      })
      .thenFails('GENERIC.VALIDATION');
    expect(error.details).toEqual({ problems: [{ path: 'flag.environments.production.defaultRollout.ppm', message: 'unknown field' }] });
  });

  it('refuses changes to a flag that does not exist', () => {
    given().when({ type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: false } }).thenFails('FLAGS.NOT_FOUND');
  });

  it('toggles an environment, and toggling to the current value is a no-op', () => {
    given(created)
      .when({ type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: false } })
      .then([{ type: 'FlagToggled', data: { environment: 'production', enabled: false } }]);
    given(created).when({ type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: true } }).then([]);
  });

  it('refuses to toggle an environment the flag has not configured', () => {
    given(created).when({ type: 'ToggleFlag', data: { key: 'checkout', environment: 'staging', enabled: true } }).thenFails('FLAGS.ENVIRONMENT_NOT_FOUND');
  });

  it('refuses every change to an archived flag except unarchive', () => {
    const archived: FlagEvent = { type: 'FlagArchived', data: {} };
    given(created, archived).when({ type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: false } }).thenFails('FLAGS.ARCHIVED');
    given(created, archived).when({ type: 'SetRules', data: { key: 'checkout', environment: 'production', rules: [] } }).thenFails('FLAGS.ARCHIVED');
    given(created, archived).when({ type: 'ArchiveFlag', data: { key: 'checkout' } }).then([]);
    given(created, archived).when({ type: 'UnarchiveFlag', data: { key: 'checkout' } }).then([{ type: 'FlagUnarchived', data: {} }]);
  });

  it('changes a rule rollout by id and refuses an unknown rule', () => {
    given(created)
      .when({ type: 'ChangeRollout', data: { key: 'checkout', environment: 'production', ruleId: 'beta', rollout: { type: 'all_users' } } })
      .then([{ type: 'RolloutChanged', data: { environment: 'production', ruleId: 'beta', rollout: { type: 'all_users' } } }]);
    given(created)
      .when({ type: 'ChangeRollout', data: { key: 'checkout', environment: 'production', ruleId: 'nope', rollout: { type: 'all_users' } } })
      .thenFails('FLAGS.RULE_NOT_FOUND');
  });

  it('changes a user list by its effective deltas only', () => {
    given(created)
      .when({ type: 'ChangeUserList', data: { key: 'checkout', environment: 'production', add: ['u1', 'u2', 'u2'], remove: ['u9'] } })
      .then([{ type: 'UserListChanged', data: { environment: 'production', added: ['u2'], removed: [] } }]);
    given(created).when({ type: 'ChangeUserList', data: { key: 'checkout', environment: 'production', add: ['u1'], remove: [] } }).then([]);
    given(created)
      .when({ type: 'ChangeUserList', data: { key: 'checkout', environment: 'production', ruleId: 'beta', add: [], remove: ['b1'] } })
      .then([{ type: 'UserListChanged', data: { environment: 'production', ruleId: 'beta', added: [], removed: ['b1'] } }]);
  });

  it('keeps every flag small enough to travel whole: a create or a growing user list past the limit is FLAGS.DEFINITION_TOO_LARGE', () => {
    const users = Array.from({ length: 12_000 }, (_, i) => `user-${i}`);
    const big = { ...created.data.flag, environments: { production: { enabled: true, defaultRollout: { type: 'user_list' as const, users } } } };
    // 12 000 ids fit once (< 256 KiB); copied into three environments they would not.
    given().when({ type: 'CreateFlag', data: { flag: big } }).then([{ type: 'FlagCreated', data: { flag: big } }]);
    const tripled = { ...big, environments: { development: big.environments.production, staging: big.environments.production, production: big.environments.production } };
    const error = given().when({ type: 'CreateFlag', data: { flag: tripled } }).thenFails('FLAGS.DEFINITION_TOO_LARGE');
    expect(error.details).toMatchObject({ key: 'checkout', maxBytes: 256 * 1024 });
    const more = Array.from({ length: 12_000 }, (_, i) => `other-${i}`);
    given({ type: 'FlagCreated', data: { flag: big } })
      .when({ type: 'ChangeUserList', data: { key: 'checkout', environment: 'production', add: more, remove: [] } })
      .thenFails('FLAGS.DEFINITION_TOO_LARGE');
  });

  it('refuses a user-list change when the target rollout is not a user list', () => {
    const percentage: FlagEvent = { type: 'RolloutChanged', data: { environment: 'production', rollout: { type: 'percentage', ppm: 10 } } };
    const error = given(created, percentage)
      .when({ type: 'ChangeUserList', data: { key: 'checkout', environment: 'production', add: ['x'], remove: [] } })
      .thenFails('GENERIC.VALIDATION');
    expect(error.details).toEqual({ problems: [{ path: 'environments.production.defaultRollout.type', message: 'is percentage, expected user_list' }] });
  });

  it('refuses rules that name an unknown segment when the segments are known', () => {
    const rules = [{ id: 'r', segments: ['vip'] }];
    given(created).when({ type: 'SetRules', data: { key: 'checkout', environment: 'production', rules } }, new Map()).thenFails('GENERIC.VALIDATION');
    given(created)
      .when({ type: 'SetRules', data: { key: 'checkout', environment: 'production', rules } }, new Map([['vip', { key: 'vip', conditions: [] }]]))
      .then([{ type: 'RulesChanged', data: { environment: 'production', rules } }]);
  });

  it('reverts to a past state, refuses a target that did not exist, and a revert to the current state is a no-op', () => {
    const past = fold([created]);
    const toggled: FlagEvent = { type: 'FlagToggled', data: { environment: 'production', enabled: false } };
    const { version: _v, ...flag } = past!;
    given(created, toggled)
      .when({ type: 'RevertFlag', data: { key: 'checkout', toVersion: 1 }, target: past })
      .then([{ type: 'FlagReverted', data: { flag, toVersion: 1 } }]);
    given(created, toggled).when({ type: 'RevertFlag', data: { key: 'checkout', asOf: '2000-01-01T00:00:00Z' }, target: null }).thenFails('FLAGS.REVERT_TARGET_NOT_FOUND');
    given(created).when({ type: 'RevertFlag', data: { key: 'checkout', toVersion: 1 }, target: past }).then([]);
  });

  it('refuses unknown detail fields and keeps the type out of reach', () => {
    given(created)
      .when({ type: 'UpdateFlagDetails', data: { key: 'checkout', changes: { type: 'boolean' } as never } })
      .thenFails('GENERIC.VALIDATION');
    given(created)
      .when({ type: 'UpdateFlagDetails', data: { key: 'checkout', changes: { description: 'new' } } })
      .then([{ type: 'FlagDetailsChanged', data: { changes: { description: 'new' } } }]);
  });

  describe('flag metadata (OpenFeature flagMetadata: flat string, number and boolean values)', () => {
    const withMetadata = (metadata: unknown) => ({ ...created.data.flag, metadata } as FlagDefinition);

    it('is stored on create and replaced whole by a details change', () => {
      const metadata = { team: 'checkout', ticket: 1234, experimental: true };
      given().when({ type: 'CreateFlag', data: { flag: withMetadata(metadata) } }).then([{ type: 'FlagCreated', data: { flag: withMetadata(metadata) } }]);
      given(created)
        .when({ type: 'UpdateFlagDetails', data: { key: 'checkout', changes: { metadata: { team: 'payments' } } } })
        .then([{ type: 'FlagDetailsChanged', data: { changes: { metadata: { team: 'payments' } } } }]);
      given(created)
        .when({ type: 'UpdateFlag', data: { key: 'checkout', details: { metadata: { version: '1.0.2' } } } })
        .then([{ type: 'FlagDetailsChanged', data: { changes: { metadata: { version: '1.0.2' } } } }]);
    });

    it.each([
      ['a nested object', { owner: { team: 'x' } }, 'flag.metadata.owner', 'must be a string, a finite number or a boolean (metadata is flat)'],
      ['an array', { tags: ['a'] }, 'flag.metadata.tags', 'must be a string, a finite number or a boolean (metadata is flat)'],
      ['null', { gone: null }, 'flag.metadata.gone', 'must be a string, a finite number or a boolean (metadata is flat)'],
      ['not an object', 'v1', 'flag.metadata', 'must be an object of string, number and boolean values'],
      ['too many keys', Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])), 'flag.metadata', 'must have at most 32 keys'],
      ['oversized', { notes: 'x'.repeat(5_000) }, 'flag.metadata', 'must be at most 4096 bytes as JSON'],
      ['a long key', { ['k'.repeat(101)]: 1 }, `flag.metadata.${'k'.repeat(101)}`, 'keys must be 1..100 characters'],
    ])('refuses %s with GENERIC.VALIDATION and the path', (_name, metadata, path, message) => {
      const error = given().when({ type: 'CreateFlag', data: { flag: withMetadata(metadata) } }).thenFails('GENERIC.VALIDATION');
      expect(error.details).toEqual({ problems: [{ path, message }] });
    });

    it('refuses bad metadata in a details change under the payload path', () => {
      const error = given(created)
        .when({ type: 'UpdateFlag', data: { key: 'checkout', details: { metadata: { nested: { a: 1 } } as never } } })
        .thenFails('GENERIC.VALIDATION');
      expect(error.details).toEqual({ problems: [{ path: 'details.metadata.nested', message: 'must be a string, a finite number or a boolean (metadata is flat)' }] });
      given(created)
        .when({ type: 'UpdateFlagDetails', data: { key: 'checkout', changes: { metadata: { n: Number.NaN } } } })
        .thenFails('GENERIC.VALIDATION');
    });
  });

  describe('over random command sequences', () => {
    const environment = fc.constantFrom('production', 'staging', 'dev');
    const users = fc.array(fc.constantFrom('u1', 'u2', 'u3', 'u4'), { maxLength: 3 });
    const ppm = fc.integer({ min: -10, max: 1_000_010 });
    const rollout: fc.Arbitrary<Rollout> = fc.oneof(
      fc.constant<Rollout>({ type: 'all_users' }),
      fc.constant<Rollout>({ type: 'none' }),
      ppm.map<Rollout>((value) => ({ type: 'percentage', ppm: value })),
      users.map<Rollout>((list) => ({ type: 'user_list', users: list })),
    );
    const key = 'prop';
    const command: fc.Arbitrary<FlagCommand> = fc.oneof(
      fc.constant<FlagCommand>({ type: 'CreateFlag', data: { flag: { key, name: 'Prop', type: 'user_list', environments: {} } } }),
      fc.constant<FlagCommand>({ type: 'ArchiveFlag', data: { key } }),
      fc.constant<FlagCommand>({ type: 'UnarchiveFlag', data: { key } }),
      fc.record({ environment, enabled: fc.boolean() }).map<FlagCommand>((d) => ({ type: 'ToggleFlag', data: { key, ...d } })),
      fc.record({ environment, rollout }).map<FlagCommand>((d) => ({ type: 'ConfigureEnvironment', data: { key, environment: d.environment, config: { enabled: true, rules: [], defaultRollout: d.rollout } } })),
      environment.map<FlagCommand>((e) => ({ type: 'RemoveEnvironment', data: { key, environment: e } })),
      fc.record({ environment, rollout }).map<FlagCommand>((d) => ({ type: 'ChangeRollout', data: { key, ...d } })),
      fc.record({ environment, rollout }).map<FlagCommand>((d) => ({ type: 'SetRules', data: { key, environment: d.environment, rules: [{ id: 'r1', rollout: d.rollout }] } })),
      fc.record({ environment, add: users, remove: users }).map<FlagCommand>((d) => ({ type: 'ChangeUserList', data: { key, ...d } })),
      fc.record({ environment, ruleId: fc.constant('r1'), add: users, remove: users }).map<FlagCommand>((d) => ({ type: 'ChangeUserList', data: { key, ...d } })),
    );

    it('never decides events whose fold fails validation, and each event advances the version by one', () => {
      fc.assert(
        fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
          let state: FlagState = null;
          for (const next of commands) {
            let events: FlagEvent[];
            try {
              events = decideFlag(next, state, NOW);
            } catch (error) {
              if (!(error instanceof FlagError)) throw error;
              continue;
            }
            const after = fold(events, state);
            if (after !== null) expect(validateFlag(after)).toEqual([]);
            if (events.length > 0) expect(after?.version).toBe((state?.version ?? 0) + events.length);
            state = after;
          }
        }),
        { numRuns: 300 },
      );
    });

    it('replaying the decided events from zero yields the same state (the fold is the only truth)', () => {
      fc.assert(
        fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
          let state: FlagState = null;
          const log: FlagEvent[] = [];
          for (const next of commands) {
            try {
              const events = decideFlag(next, state, NOW);
              log.push(...events);
              state = fold(events, state);
            } catch (error) {
              if (!(error instanceof FlagError)) throw error;
            }
          }
          expect(fold(log)).toEqual(state);
          if (state !== null) expect((state as FlagDefinition).version).toBe(log.length);
        }),
        { numRuns: 200 },
      );
    });
  });
});
