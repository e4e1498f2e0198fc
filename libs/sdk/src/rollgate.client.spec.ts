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
    key: 'colour', name: 'colour', type: 'experiment', version: 1, offVariant: 'grey', metadata: { owner: 'design' },
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
    // All the weight on blue: served to everyone, no hash decides.
    expect(client.evaluate('colour', { userId: 'u' }, 'x')).toMatchObject({ value: 'blue', variant: 'blue', reason: 'STATIC', metadata: { owner: 'design' } });
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

  describe('exposure counting (per-flag counters drained into the window at each flush)', () => {
    const T0 = Date.parse('2026-01-01T00:00:00Z');
    const layout: FlagDefinition = {
      key: 'layout', name: 'layout', type: 'experiment', version: 1,
      variants: [{ key: 'a', weight: 1, payload: 'a' }, { key: 'b', weight: 1, payload: 'b' }, { key: 'c', weight: 1, payload: 'c' }],
      environments: { [ENV]: { enabled: true, defaultRollout: { type: 'all_users' } } },
    };
    // An experiment with no off variant serves the caller's default when off: counted as `default`.
    const dark: FlagDefinition = {
      key: 'dark', name: 'dark', type: 'experiment', version: 1, variants: [{ key: 'x', weight: 1, payload: 'x' }],
      environments: { [ENV]: { enabled: false, defaultRollout: { type: 'all_users' } } },
    };
    const snapshot = (fs: FlagDefinition[], position: string) => ({ environment: ENV, position, flags: fs, segments: [] });

    function clocked(batches: OutcomeBatch[], fs: FlagDefinition[] = [...flags, layout, dark]) {
      const now = { t: T0 };
      const client = RollgateClient.offline({ environment: ENV, snapshot: snapshot(fs, '9'), outcomeSink: (b) => batches.push(b), clock: () => now.t });
      return { client, now };
    }

    /** What a fresh snapshot does to a running client (the same path as a resnapshot over NATS). */
    function reload(client: RollgateClient, fs: FlagDefinition[], position: string): void {
      client['store'].apply(client['store'].sync.loadSnapshot(snapshot(fs, position)), true);
    }

    const exposures = (batches: OutcomeBatch[], key: string) =>
      Object.fromEntries(batches.filter((b) => b.flagKey === key).flatMap((b) => b.cohorts.map((c) => [c.variant, c.exposures])));

    it('counts every variant served, and each flush reports only its own window', () => {
      const batches: OutcomeBatch[] = [];
      const { client, now } = clocked(batches);
      const served: Record<string, number> = {};
      for (let i = 0; i < 300; i++) {
        const variant = client.evaluate('layout', { userId: `u${i}` }, 'none').variant!;
        served[variant] = (served[variant] ?? 0) + 1;
      }
      expect(Object.keys(served).sort()).toEqual(['a', 'b', 'c']);
      for (let i = 0; i < 4; i++) client.isEnabled('on-flag', { userId: `u${i}` });
      for (let i = 0; i < 3; i++) client.isEnabled('off-flag', { userId: `u${i}` });
      expect(client.evaluate('dark', { userId: 'u1' }, 'fallback')).toMatchObject({ value: 'fallback', variant: undefined, reason: 'DISABLED' });
      now.t = T0 + 10_000;
      client.flushOutcomes();
      expect(new Set(batches.map((b) => b.windowStart))).toEqual(new Set(['2026-01-01T00:00:00.000Z']));
      expect(batches.every((b) => b.windowMs === 10_000)).toBe(true);
      expect(exposures(batches, 'layout')).toEqual(served);
      expect(exposures(batches, 'on-flag')).toEqual({ on: 4 });
      expect(exposures(batches, 'off-flag')).toEqual({ off: 3 });
      expect(exposures(batches, 'dark')).toEqual({ default: 1 });

      // Second window: counters were reset; only what happened in it is reported, in a batch of its own.
      batches.length = 0;
      client.evaluate('layout', { userId: 'u0' }, 'none');
      client.evaluate('layout', { userId: 'u0' }, 'none');
      client.isEnabled('on-flag', {});
      now.t = T0 + 20_000;
      client.flushOutcomes();
      const first = client.evaluate('layout', { userId: 'u0' }, 'none').variant!;
      expect(batches.map((b) => [b.flagKey, b.windowStart]).sort()).toEqual([
        ['layout', '2026-01-01T00:00:10.000Z'],
        ['on-flag', '2026-01-01T00:00:10.000Z'],
      ]);
      expect(exposures(batches, 'layout')).toEqual({ [first]: 2 });
      expect(exposures(batches, 'on-flag')).toEqual({ on: 1 });

      // A window in which nothing was evaluated publishes nothing; counting resumes afterwards.
      batches.length = 0;
      now.t = T0 + 30_000;
      client.flushOutcomes(); // holds the evaluation made after the previous flush
      expect(batches.map((b) => b.flagKey)).toEqual(['layout']);
      batches.length = 0;
      now.t = T0 + 40_000;
      expect(client.flushOutcomes()).toBe(0);
      client.isEnabled('on-flag', {});
      client.evaluate('on-flag', {}, false);
      now.t = T0 + 50_000;
      client.flushOutcomes();
      expect(batches.map((b) => [b.flagKey, b.windowStart])).toEqual([['on-flag', '2026-01-01T00:00:40.000Z']]);
      expect(exposures(batches, 'on-flag')).toEqual({ on: 2 });
    });

    it('a flag removed mid-window still reports what it counted, and is not counted after', () => {
      const batches: OutcomeBatch[] = [];
      const { client, now } = clocked(batches);
      client.isEnabled('on-flag', {});
      client.isEnabled('on-flag', {});
      client.evaluate('layout', { userId: 'u1' }, 'none');
      const layoutVariant = client.variant('layout', { userId: 'u1' })!;
      reload(client, flags.filter((f) => f.key !== 'on-flag'), '10'); // a fresh snapshot without on-flag and layout
      expect(client.isEnabled('on-flag', {})).toBe(false); // removed: unknown now, not counted
      expect(client.evaluate('on-flag', {}, false)).toMatchObject({ errorCode: 'FLAG_NOT_FOUND' });
      expect(client.getFlag('layout')).toBeUndefined(); // removed too, and not evaluated since
      client.isEnabled('off-flag', {});
      now.t = T0 + 10_000;
      client.flushOutcomes();
      expect(exposures(batches, 'on-flag')).toEqual({ on: 2 });
      expect(exposures(batches, 'layout')).toEqual({ [layoutVariant]: 2 });
      expect(exposures(batches, 'off-flag')).toEqual({ off: 1 });

      batches.length = 0;
      client.isEnabled('on-flag', {});
      now.t = T0 + 20_000;
      expect(client.flushOutcomes()).toBe(0);
    });

    it('a flag changed mid-window is counted under its key across versions, with the new version served', () => {
      const batches: OutcomeBatch[] = [];
      const { client, now } = clocked(batches);
      expect(client.isEnabled('off-flag', {})).toBe(false);
      const toggled = flags.map((f) => (f.key === 'off-flag' ? { ...f, version: 2, environments: { [ENV]: { enabled: true, defaultRollout: { type: 'all_users' as const } } } } : f));
      reload(client, toggled, '10');
      expect(client.isEnabled('off-flag', {})).toBe(true);
      expect(client.evaluate('off-flag', {}, false)).toMatchObject({ value: true, flagVersion: 2 });
      now.t = T0 + 10_000;
      client.flushOutcomes();
      expect(exposures(batches, 'off-flag')).toEqual({ off: 1, on: 2 });
    });

    it('with trackExposures off evaluates the same and reports no exposures', () => {
      const batches: OutcomeBatch[] = [];
      const client = RollgateClient.offline({ environment: ENV, snapshot: snapshot(flags, '9'), outcomeSink: (b) => batches.push(b), trackExposures: false });
      expect(client.isEnabled('on-flag', {})).toBe(true);
      expect(client.evaluate('colour', { userId: 'u' }, 'x')).toMatchObject({ value: 'blue' });
      expect(client.flushOutcomes()).toBe(0);
    });
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
