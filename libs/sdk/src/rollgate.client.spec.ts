import type { FlagDefinition, OutcomeBatch } from '#rollgate/contracts';
import { RollgateClient } from './rollgate.client.js';

const ENV = 'prod';
const flags: FlagDefinition[] = [
  { key: 'on-flag', name: 'on', type: 'boolean', version: 3, environments: { [ENV]: { enabled: true, defaultRollout: { type: 'all_users' } } } },
  { key: 'off-flag', name: 'off', type: 'boolean', version: 1, environments: { [ENV]: { enabled: false, defaultRollout: { type: 'all_users' } } } },
  {
    key: 'beta-users', name: 'beta', type: 'boolean', version: 2,
    environments: { [ENV]: { enabled: true, rules: [{ id: 'beta', conditions: [{ attribute: 'plan', operator: 'equals', values: ['beta'] }] }], defaultRollout: { type: 'none' } } },
  },
  {
    key: 'colour', name: 'colour', type: 'experiment', version: 1, offVariant: 'grey',
    variants: [{ key: 'grey', weight: 0, payload: 'grey' }, { key: 'blue', weight: 1, payload: 'blue' }],
    environments: { [ENV]: { enabled: true, defaultRollout: { type: 'all_users' } } },
  },
];

function offline(batches: OutcomeBatch[] = [], latencies: number[] = []) {
  let tick = 0;
  return RollgateClient.offline({
    environment: ENV,
    snapshot: { environment: ENV, position: '9', flags, segments: [] },
    outcomeSink: (b) => batches.push(b),
    monotonic: () => latencies[tick++] ?? 0,
  });
}

const cohort = (batches: OutcomeBatch[], key: string, variant: string) =>
  batches.find((b) => b.flagKey === key)?.cohorts.find((c) => c.variant === variant);

describe(RollgateClient.name, () => {
  it('evaluates synchronously with details, never throwing', () => {
    const client = offline();
    expect(client.isEnabled('on-flag', { userId: 'u' })).toBe(true);
    expect(client.isEnabled('off-flag', { userId: 'u' })).toBe(false);
    expect(client.isEnabled('beta-users', { userId: 'u', plan: 'beta' })).toBe(true);
    expect(client.evaluate('beta-users', { userId: 'u', plan: 'beta' }, false)).toMatchObject({ value: true, reason: 'TARGETING_MATCH', ruleId: 'beta', flagVersion: 2 });
    expect(client.evaluate('off-flag', {}, true)).toMatchObject({ value: false, reason: 'DISABLED' });
    expect(client.variant('colour', { userId: 'u' })).toBe('blue');
    expect(client.evaluate('colour', { userId: 'u' }, 'x')).toMatchObject({ value: 'blue', variant: 'blue', reason: 'SPLIT' });
    expect(client.evaluate('missing', { userId: 'u' }, 42)).toMatchObject({ value: 42, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
    expect(client.evaluate('on-flag', { userId: 'u' }, 'text')).toMatchObject({ value: 'text', reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(client.evaluate('on-flag', 'not a context' as never, false)).toMatchObject({ value: false, errorCode: 'INVALID_CONTEXT' });
    expect(client.isEnabled('missing', {})).toBe(false);
    expect(client.variant('missing', {})).toBeUndefined();
  });

  it('counts exposures per flag and variant for found flags only', () => {
    const batches: OutcomeBatch[] = [];
    const client = offline(batches);
    client.isEnabled('on-flag', {});
    client.evaluate('on-flag', {}, false);
    client.isEnabled('off-flag', {});
    client.variant('colour', { userId: 'u' });
    client.evaluate('missing', {}, false);
    client.isEnabled('missing', {});
    client.flushOutcomes();
    expect(batches.map((b) => b.flagKey).sort()).toEqual(['colour', 'off-flag', 'on-flag']);
    expect(cohort(batches, 'on-flag', 'on')?.exposures).toBe(2);
    expect(cohort(batches, 'off-flag', 'off')?.exposures).toBe(1);
    expect(cohort(batches, 'colour', 'blue')?.exposures).toBe(1);
  });

  describe('withFeature', () => {
    it('runs the on branch when on, the off branch when off, and tracks success with latency', () => {
      const batches: OutcomeBatch[] = [];
      const client = offline(batches, [100, 112, 200, 203]);
      expect(client.withFeature('on-flag', { userId: 'u1' }, () => 'new', () => 'old')).toBe('new');
      expect(client.withFeature('off-flag', { userId: 'u1' }, () => 'new', () => 'old')).toBe('old');
      client.flushOutcomes();
      expect(cohort(batches, 'on-flag', 'on')).toMatchObject({ requests: 1, errors: 0, exposures: 1, latencySumMs: 12 });
      expect(cohort(batches, 'off-flag', 'off')).toMatchObject({ requests: 1, errors: 0, exposures: 1, latencySumMs: 3 });
    });

    it('rethrows a thrown error and tracks it, with the unit counted once', () => {
      const batches: OutcomeBatch[] = [];
      const client = offline(batches);
      const boom = new Error('boom');
      for (let i = 0; i < 2; i++) {
        expect(() => client.withFeature('on-flag', { userId: 'u1' }, () => { throw boom; }, () => 'old')).toThrow(boom);
      }
      client.flushOutcomes();
      expect(cohort(batches, 'on-flag', 'on')).toMatchObject({ requests: 2, errors: 2, errorUnits: 1 });
    });

    it('awaits async branches: resolves with their value or rejects, tracking each', async () => {
      const batches: OutcomeBatch[] = [];
      const client = offline(batches, [0, 40, 0, 7]);
      await expect(client.withFeature('on-flag', { userId: 'a' }, async () => 'async-new', async () => 'async-old')).resolves.toBe('async-new');
      await expect(client.withFeature('on-flag', { userId: 'b' }, () => Promise.reject(new Error('late')), async () => 'x')).rejects.toThrow('late');
      client.flushOutcomes();
      expect(cohort(batches, 'on-flag', 'on')).toMatchObject({ requests: 2, errors: 1, errorUnits: 1, latencySumMs: 47 });
    });

    it('uses the variant as the cohort of experiment flags, and the unknown-flag default branch', () => {
      const batches: OutcomeBatch[] = [];
      const client = offline(batches);
      expect(client.withFeature('colour', { userId: 'u' }, () => 'on', () => 'off')).toBe('on');
      expect(client.withFeature('missing', { userId: 'u' }, () => 'on', () => 'off')).toBe('off');
      client.flushOutcomes();
      expect(cohort(batches, 'colour', 'blue')).toMatchObject({ requests: 1, exposures: 1 });
      expect(cohort(batches, 'missing', 'default')).toMatchObject({ requests: 1, exposures: 0 });
    });
  });

  it('track() attributes an outcome to the cohort the context is served, or the one given', () => {
    const batches: OutcomeBatch[] = [];
    const client = offline(batches);
    client.track('beta-users', { userId: 'u1', plan: 'beta' }, { outcome: 'success', latencyMs: 4 });
    client.track('beta-users', { userId: 'u2', plan: 'free' }, { outcome: 'error', latencyMs: 9 });
    client.track('beta-users', { userId: 'u3' }, { outcome: 'error', variant: 'on' });
    client.flushOutcomes();
    expect(cohort(batches, 'beta-users', 'on')).toMatchObject({ requests: 2, errors: 1, errorUnits: 1 });
    expect(cohort(batches, 'beta-users', 'off')).toMatchObject({ requests: 1, errors: 1, errorUnits: 1, latencySumMs: 9 });
  });
});
