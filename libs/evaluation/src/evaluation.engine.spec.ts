import { bucketOf, variantSalt } from './bucketing.js';
import { EnvironmentMismatchError, FlagValidationError } from './evaluation.errors.js';
import { EvaluationEngine } from './evaluation.engine.js';
import type { EnvironmentConfig, FlagDefinition, Rollout } from './flag.model.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;

function flag(key: string, production: Partial<EnvironmentConfig> & { defaultRollout?: Rollout }, extra: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    key, name: key, type: 'boolean', version: 3,
    environments: { production: { enabled: true, defaultRollout: { type: 'all_users' }, ...production } },
    ...extra,
  };
}

function usersIn(key: string, ppm: number, count: number): { inside: string; outside: string } {
  let inside: string | undefined;
  let outside: string | undefined;
  for (let i = 0; (inside === undefined || outside === undefined) && i < count; i++) {
    const u = `user-${i}`;
    if (bucketOf(key, u) < ppm) inside ??= u;
    else outside ??= u;
  }
  return { inside: inside!, outside: outside! };
}

describe(EvaluationEngine.name, () => {
  let engine: EvaluationEngine;
  beforeEach(() => {
    engine = new EvaluationEngine('production', { clock: () => T0 });
  });

  describe('reasons', () => {
    it('STATIC for a flag with no rules and an all_users rollout, as one shared frozen result', () => {
      engine.upsert(flag('simple-on', {}));
      const a = engine.evaluate('simple-on', { userId: 'u1' }, false);
      expect(a).toEqual({ value: true, variant: 'on', reason: 'STATIC', flagVersion: 3 });
      expect(engine.evaluate('simple-on', { userId: 'u2' }, false)).toBe(a);
      expect(Object.isFrozen(a)).toBe(true);
    });

    it('STATIC false for a none rollout', () => {
      engine.upsert(flag('off', { defaultRollout: { type: 'none' } }));
      expect(engine.evaluate('off', {}, true)).toMatchObject({ value: false, variant: 'off', reason: 'STATIC' });
    });

    it('DISABLED when the environment is switched off, missing, or the flag is archived', () => {
      engine.upsert(flag('killed', { enabled: false }));
      engine.upsert({ ...flag('elsewhere', {}), environments: { staging: { enabled: true, defaultRollout: { type: 'all_users' } } } });
      engine.upsert(flag('archived', {}, { archived: true }));
      for (const key of ['killed', 'elsewhere', 'archived']) {
        expect(engine.evaluate(key, { userId: 'u' }, true)).toMatchObject({ value: false, reason: 'DISABLED', flagVersion: 3 });
        expect(engine.isEnabled(key, { userId: 'u' })).toBe(false);
      }
    });

    it('TARGETING_MATCH with the rule id for the first matching rule; DEFAULT when none matches', () => {
      engine.upsert(flag('targeted', {
        rules: [
          { id: 'staff', conditions: [{ attribute: 'email', operator: 'ends_with', values: ['@rollgate.dev'] }] },
          { id: 'fr', conditions: [{ attribute: 'country', operator: 'in', values: ['FR'] }], rollout: { type: 'none' } },
        ],
        defaultRollout: { type: 'none' },
      }));
      expect(engine.evaluate('targeted', { email: 'a@rollgate.dev' }, false)).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH', flagVersion: 3, ruleId: 'staff' });
      expect(engine.evaluate('targeted', { country: 'FR' }, false)).toMatchObject({ value: false, reason: 'DEFAULT' });
      expect(engine.evaluate('targeted', { email: 'a@b.c' }, false)).toMatchObject({ value: false, reason: 'DEFAULT', ruleId: undefined });
    });

    it('SPLIT for a percentage rollout, in and out', () => {
      engine.upsert(flag('pct', { defaultRollout: { type: 'percentage', ppm: 250_000 } }));
      const { inside, outside } = usersIn('pct', 250_000, 100);
      expect(engine.evaluate('pct', { userId: inside }, false)).toMatchObject({ value: true, reason: 'SPLIT' });
      expect(engine.evaluate('pct', { userId: outside }, false)).toMatchObject({ value: false, reason: 'SPLIT' });
    });

    it('STALE replaces the reason of successful results while the engine is stale', () => {
      engine.upsert(flag('simple-on', {}));
      engine.setStale(true);
      expect(engine.evaluate('simple-on', {}, false)).toMatchObject({ value: true, reason: 'STALE' });
      expect(engine.evaluate('missing', {}, false)).toMatchObject({ reason: 'ERROR' });
      engine.setStale(false);
      expect(engine.evaluate('simple-on', {}, false).reason).toBe('STATIC');
    });
  });

  describe('errors never throw', () => {
    it('FLAG_NOT_FOUND returns the caller default', () => {
      expect(engine.evaluate('nope', { userId: 'u' }, 'fallback')).toEqual({ value: 'fallback', variant: undefined, reason: 'ERROR', flagVersion: undefined, errorCode: 'FLAG_NOT_FOUND' });
      expect(engine.isEnabled('nope', {})).toBe(false);
    });

    it('INVALID_CONTEXT for a context that is not an object', () => {
      engine.upsert(flag('simple-on', {}));
      expect(engine.evaluate('simple-on', 'user-1' as never, false)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'INVALID_CONTEXT' });
      expect(engine.evaluate('simple-on', [1] as never, false)).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
      expect(engine.isEnabled('simple-on', 42 as never)).toBe(false);
      expect(engine.evaluate('simple-on', undefined as never, false)).toMatchObject({ value: true, reason: 'STATIC' });
    });

    it('TYPE_MISMATCH when the default is of another type than the flag serves', () => {
      engine.upsert(flag('simple-on', {}));
      expect(engine.evaluate('simple-on', {}, 'yes')).toMatchObject({ value: 'yes', reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    });

    it('GENERAL when a context attribute throws on read', () => {
      engine.upsert(flag('targeted', { rules: [{ id: 'r', conditions: [{ attribute: 'a', operator: 'in', values: ['x'] }] }] }));
      const hostile = Object.defineProperty({}, 'a', { get: () => { throw new Error('boom'); }, enumerable: true });
      expect(engine.evaluate('targeted', hostile, false)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'GENERAL' });
      expect(engine.isEnabled('targeted', hostile)).toBe(false);
    });
  });

  describe('rollouts', () => {
    it('percentage sticks on any attribute; a unit without it is out', () => {
      engine.upsert(flag('by-org', { defaultRollout: { type: 'percentage', ppm: 500_000, stickiness: 'orgId' } }));
      const { inside, outside } = usersIn('by-org', 500_000, 100);
      expect(engine.isEnabled('by-org', { orgId: inside, userId: outside })).toBe(true);
      expect(engine.isEnabled('by-org', { orgId: outside, userId: inside })).toBe(false);
      expect(engine.isEnabled('by-org', { userId: inside })).toBe(false);
    });

    it('percentage buckets numeric ids as their text', () => {
      engine.upsert(flag('num', { defaultRollout: { type: 'percentage', ppm: 500_000 } }));
      const id = [...Array(50).keys()].find((i) => bucketOf('num', String(i)) < 500_000)!;
      expect(engine.isEnabled('num', { userId: id })).toBe(true);
      expect(engine.isEnabled('num', { userId: String(id) })).toBe(true);
    });

    it('the salt decides the buckets, defaulting to the key', () => {
      engine.upsert(flag('salted', { defaultRollout: { type: 'percentage', ppm: 500_000 } }, { salt: 'other-salt' }));
      const { inside, outside } = usersIn('other-salt', 500_000, 100);
      expect(engine.isEnabled('salted', { userId: inside })).toBe(true);
      expect(engine.isEnabled('salted', { userId: outside })).toBe(false);
    });

    it('user_list: TARGETING_MATCH for listed users (100 000 of them), DEFAULT otherwise', () => {
      const users = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
      engine.upsert(flag('beta', { defaultRollout: { type: 'user_list', users } }, { type: 'user_list' }));
      expect(engine.evaluate('beta', { userId: 'user-99999' }, false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
      expect(engine.evaluate('beta', { userId: 'user-100000' }, false)).toMatchObject({ value: false, reason: 'DEFAULT' });
    });

    it('environment: on only in listed environments', () => {
      const def = flag('env-flag', { defaultRollout: { type: 'environment', environments: ['staging', 'production'] } }, { type: 'environment' });
      def.environments.development = { enabled: true, defaultRollout: { type: 'environment', environments: ['staging', 'production'] } };
      engine.upsert(def);
      const dev = new EvaluationEngine('development');
      dev.upsert(def);
      expect(engine.evaluate('env-flag', {}, false)).toMatchObject({ value: true, reason: 'STATIC' });
      expect(dev.evaluate('env-flag', {}, true)).toMatchObject({ value: false, reason: 'STATIC' });
    });

    it('gradual follows the injected clock, linearly or in steps', () => {
      const rollout: Rollout = { type: 'gradual', from: 0, to: 1_000_000, start: T0, end: T0 + 10 * HOUR };
      engine.upsert(flag('ramp', { defaultRollout: rollout }));
      engine.upsert(flag('stepped', { defaultRollout: { ...rollout, steps: 2 } }));
      const u = [...Array(1000).keys()].map((i) => `user-${i}`).find((id) => {
        const b = bucketOf('ramp', id);
        return b > 300_000 && b < 400_000 && bucketOf('stepped', id) > 300_000 && bucketOf('stepped', id) < 400_000;
      })!;
      expect(engine.isEnabled('ramp', { userId: u }, T0 - 1)).toBe(false);
      expect(engine.isEnabled('ramp', { userId: u }, T0 + 3 * HOUR)).toBe(false);
      expect(engine.isEnabled('ramp', { userId: u }, T0 + 4 * HOUR)).toBe(true);
      expect(engine.isEnabled('ramp', { userId: u }, T0 + 10 * HOUR)).toBe(true);
      expect(engine.isEnabled('stepped', { userId: u }, T0 + 4.9 * HOUR)).toBe(false);
      expect(engine.isEnabled('stepped', { userId: u }, T0 + 5 * HOUR)).toBe(true);
      // Without `now`, the engine's clock (T0) is used: the ramp has not started.
      expect(engine.evaluate('ramp', { userId: u }, true)).toMatchObject({ value: false, reason: 'SPLIT' });
    });

    it('a rule with a rollout falls through for units outside it (condition + 10 %)', () => {
      engine.upsert(flag('rollout-10', {
        rules: [{ id: 'prod-10', conditions: [{ attribute: 'environment', operator: 'in', values: ['production'] }], rollout: { type: 'percentage', ppm: 100_000 } }],
        defaultRollout: { type: 'none' },
      }));
      const { inside, outside } = usersIn('rollout-10', 100_000, 200);
      expect(engine.evaluate('rollout-10', { userId: inside, environment: 'production' }, false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH', ruleId: 'prod-10' });
      expect(engine.evaluate('rollout-10', { userId: outside, environment: 'production' }, false)).toMatchObject({ value: false, reason: 'DEFAULT' });
      expect(engine.isEnabled('rollout-10', { userId: inside, environment: 'staging' })).toBe(false);
    });
  });

  describe('experiments', () => {
    const experiment = (extra: Partial<FlagDefinition> = {}, production: Partial<EnvironmentConfig> = {}): FlagDefinition => flag('checkout', production, {
      type: 'experiment',
      variants: [
        { key: 'control', payload: { layout: 'classic' }, weight: 1 },
        { key: 'treatment', payload: { layout: 'one-page' }, weight: 1 },
      ],
      ...extra,
    });

    it('serves the chosen variant payload, split by the variant salt, independent of the rollout', () => {
      engine.upsert(experiment());
      const seen = new Map<string, number>();
      for (let i = 0; i < 2_000; i++) {
        const userId = `user-${i}`;
        const r = engine.evaluate('checkout', { userId }, { layout: 'none' });
        expect(r.reason).toBe('SPLIT');
        const expected = bucketOf(variantSalt('checkout'), userId) < 500_000 ? 'control' : 'treatment';
        expect(r.variant).toBe(expected);
        expect(r.value).toEqual({ layout: expected === 'control' ? 'classic' : 'one-page' });
        seen.set(expected, (seen.get(expected) ?? 0) + 1);
      }
      expect(seen.get('control')! / 2_000).toBeGreaterThan(0.45);
      expect(seen.get('control')! / 2_000).toBeLessThan(0.55);
    });

    it('out of the rollout: the off variant, or the caller default without one', () => {
      engine.upsert(experiment({}, { defaultRollout: { type: 'none' } }));
      expect(engine.evaluate('checkout', { userId: 'u' }, { layout: 'caller' })).toEqual({ value: { layout: 'caller' }, variant: undefined, reason: 'STATIC', flagVersion: 3 });
      expect(engine.isEnabled('checkout', { userId: 'u' })).toBe(false);
      engine.upsert(experiment({ offVariant: 'control' }, { enabled: false }));
      expect(engine.evaluate('checkout', { userId: 'u' }, { layout: 'caller' })).toMatchObject({ value: { layout: 'classic' }, variant: 'control', reason: 'DISABLED' });
    });

    it('a rule can force a variant', () => {
      engine.upsert(experiment({}, { rules: [{ id: 'qa', conditions: [{ attribute: 'role', operator: 'equals', values: ['qa'] }], variant: 'treatment' }] }));
      expect(engine.evaluate('checkout', { userId: 'u', role: 'qa' }, {})).toMatchObject({ variant: 'treatment', reason: 'TARGETING_MATCH', ruleId: 'qa' });
      expect(engine.isEnabled('checkout', { userId: 'u', role: 'qa' })).toBe(true);
    });

    it('weights decide shares (90/10 within tolerance over 100 000 users)', () => {
      engine.upsert(experiment({ variants: [{ key: 'a', payload: 'A', weight: 9 }, { key: 'b', payload: 'B', weight: 1 }] }));
      let b = 0;
      for (let i = 0; i < 100_000; i++) if (engine.evaluate('checkout', { userId: `u${i}` }, '').variant === 'b') b++;
      expect(Math.abs(b / 100_000 - 0.1)).toBeLessThan(0.004);
    });
  });

  describe('segments', () => {
    it('rules match segment members; changing the segment recompiles the flags using it', () => {
      engine.upsertSegment({ key: 'beta-testers', conditions: [{ attribute: 'plan', operator: 'in', values: ['beta'] }] });
      engine.upsert(flag('seg', { rules: [{ id: 'beta', segments: ['beta-testers'] }], defaultRollout: { type: 'none' } }));
      expect(engine.isEnabled('seg', { plan: 'beta' })).toBe(true);
      engine.upsertSegment({ key: 'beta-testers', conditions: [{ attribute: 'plan', operator: 'in', values: ['pro'] }] });
      expect(engine.isEnabled('seg', { plan: 'beta' })).toBe(false);
      expect(engine.isEnabled('seg', { plan: 'pro' })).toBe(true);
      expect(() => engine.removeSegment('beta-testers')).toThrow(FlagValidationError);
      engine.remove('seg');
      expect(engine.removeSegment('beta-testers')).toBe(true);
    });

    it('a member list segment matches its members (100 000, one Set shared by every rule) and its conditions, never anyone else', () => {
      const members = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
      engine.upsertSegment({ key: 'vip', conditions: [{ attribute: 'country', operator: 'in', values: ['NL'] }], memberAttribute: 'userId', members });
      engine.upsert(flag('list', { rules: [{ id: 'vip', segments: ['vip'] }], defaultRollout: { type: 'none' } }));
      engine.upsert(flag('list2', { rules: [{ id: 'vip', segments: ['vip'] }, { id: 'vip2', segments: ['vip'] }], defaultRollout: { type: 'none' } }));
      expect(engine.evaluate('list', { userId: 'user-99999', country: 'NL' }, false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH', ruleId: 'vip' });
      expect(engine.isEnabled('list', { userId: 'user-100000', country: 'NL' })).toBe(false);
      expect(engine.isEnabled('list', { userId: 'user-5', country: 'BE' })).toBe(false);
      expect(engine.isEnabled('list', { country: 'NL' })).toBe(false);
      expect(engine.isEnabled('list2', { userId: 'user-0', country: 'NL' })).toBe(true);
      // A list with no members yet includes nobody (it is not a segment without a member test).
      engine.upsertSegment({ key: 'vip', conditions: [], memberAttribute: 'userId' });
      expect(engine.isEnabled('list', { userId: 'user-0' })).toBe(false);
      engine.upsertSegment({ key: 'vip', conditions: [], memberAttribute: 'email', members: ['a@x.io'] });
      expect(engine.isEnabled('list', { userId: 'a@x.io' })).toBe(false);
      expect(engine.isEnabled('list', { email: 'a@x.io' })).toBe(true);
    });

    it('refuses a flag referencing an unknown segment and keeps the previous version', () => {
      engine.upsert(flag('seg', {}));
      expect(() => engine.upsert(flag('seg', { rules: [{ id: 'r', segments: ['ghost'] }] }, { version: 4 }))).toThrow(FlagValidationError);
      expect(engine.versionOf('seg')).toBe(3);
    });
  });

  describe('container', () => {
    it('upserts, removes and loads snapshots, reporting invalid definitions without dropping the rest', () => {
      engine.upsert(flag('old', {}));
      const report = engine.load({
        environment: 'production',
        position: 42,
        segments: [{ key: 'staff', conditions: [{ attribute: 'email', operator: 'ends_with', values: ['@rollgate.dev'] }] }],
        flags: [
          flag('a', {}),
          flag('b', { rules: [{ id: 's', segments: ['staff'] }], defaultRollout: { type: 'none' } }),
          flag('Bad Key', {}),
        ],
      });
      expect(report.loaded).toBe(2);
      expect(report.rejected).toEqual([{ key: 'Bad Key', problems: [expect.objectContaining({ path: 'key' })] }]);
      expect([...engine.keys()].sort()).toEqual(['a', 'b']);
      expect(engine.isEnabled('b', { email: 'x@rollgate.dev' })).toBe(true);
      expect(engine.has('old')).toBe(false);
      expect(engine.remove('a')).toBe(true);
      expect(engine.size).toBe(1);
    });

    it('lookup gives the compiled flag; evaluateFlag and isEnabledFlag answer as evaluate and isEnabled do', () => {
      engine.upsert(flag('rollout', { rules: [{ id: 'pro', conditions: [{ attribute: 'plan', operator: 'equals', values: ['pro'] }] }], defaultRollout: { type: 'percentage', ppm: 300_000 } }));
      engine.upsert(flag('checkout', {}, { type: 'experiment', variants: [{ key: 'a', payload: 'A', weight: 1 }, { key: 'b', payload: 'B', weight: 1 }] }));
      engine.upsert(flag('dark', { defaultRollout: { type: 'none' } }, { type: 'experiment', variants: [{ key: 'x', payload: 'X', weight: 1 }] }));
      expect(engine.lookup('missing')).toBeUndefined();
      const contexts = [{ plan: 'pro' }, ...Array.from({ length: 50 }, (_, i) => ({ userId: `u${i}` })), {}, 'not a context' as never, null as never];
      for (const key of ['rollout', 'checkout', 'dark']) {
        const compiled = engine.lookup(key)!;
        expect(compiled.key).toBe(key);
        for (const ctx of contexts) {
          expect(engine.isEnabledFlag(compiled, ctx)).toBe(engine.isEnabled(key, ctx));
          for (const fallback of [false, 'fallback', { layout: 'x' }] as const) {
            expect(engine.evaluateFlag(compiled, ctx, fallback)).toEqual(engine.evaluate(key, ctx, fallback));
          }
        }
      }
      engine.setStale(true);
      expect(engine.evaluateFlag(engine.lookup('checkout')!, { userId: 'u1' }, '')).toMatchObject({ reason: 'STALE' });
    });

    it('revision moves whenever a held compiled flag may have been replaced or removed, and only then', () => {
      const seen = [engine.revision];
      const moved = () => {
        const r = engine.revision;
        const changed = r !== seen[seen.length - 1];
        seen.push(r);
        return changed;
      };
      engine.upsert(flag('a', {}));
      expect(moved()).toBe(true);
      const held = engine.lookup('a')!;
      engine.evaluate('a', {}, false);
      engine.setStale(true);
      engine.setStale(false);
      expect(moved()).toBe(false);
      expect(() => engine.upsert(flag('Bad Key', {}))).toThrow(FlagValidationError);
      expect(moved()).toBe(false);
      engine.upsert(flag('a', { enabled: false }, { version: 4 }));
      expect(moved()).toBe(true);
      expect(engine.lookup('a')).not.toBe(held);
      expect(engine.evaluateFlag(held, {}, false)).toMatchObject({ value: true, flagVersion: 3 }); // a held flag is the version it was
      engine.upsertSegment({ key: 's', conditions: [{ attribute: 'plan', operator: 'in', values: ['pro'] }] });
      expect(moved()).toBe(true);
      engine.removeSegment('s');
      expect(moved()).toBe(true);
      engine.remove('a');
      expect(moved()).toBe(true);
      engine.load({ environment: 'production', flags: [flag('b', {})] });
      expect(moved()).toBe(true);
    });

    it('refuses a snapshot of another environment', () => {
      expect(() => engine.load({ environment: 'staging', flags: [] })).toThrow(EnvironmentMismatchError);
    });

    it('results survive a JSON round trip with only defined fields', () => {
      engine.upsert(flag('simple-on', {}));
      expect(JSON.parse(JSON.stringify(engine.evaluate('simple-on', {}, false)))).toEqual({ value: true, variant: 'on', reason: 'STATIC', flagVersion: 3 });
    });
  });
});
