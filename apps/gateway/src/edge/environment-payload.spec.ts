import type { FlagSnapshot } from '#rollgate/contracts';
import type { FlagDefinition } from '#rollgate/evaluation';
import { buildPayload, etagMatches } from './environment-payload.js';
import { parseReadAfter } from './edge-request.js';

const flag = (key: string, version: number, extra: Partial<FlagDefinition> = {}): FlagDefinition =>
  ({ key, name: key, type: 'boolean', version, environments: { production: { enabled: true, defaultRollout: { kind: 'all' }, rules: [] } }, ...extra }) as unknown as FlagDefinition;

const snapshot = (position: string, flags: FlagDefinition[]): FlagSnapshot => ({ environment: 'production', position, flags, segments: [] });

describe(buildPayload.name, () => {
  it('serializes in snake_case, sorted by key, with an ETag that follows the flags and not the position', () => {
    const first = buildPayload(snapshot('10', [flag('b', 1), flag('a', 2, { archived: true })]));
    const parsed = JSON.parse(first.body.toString()) as { position: string; flags: Array<{ key: string; environments: Record<string, unknown> }> };
    expect(parsed.position).toBe('10');
    expect(parsed.flags.map((f) => f.key)).toEqual(['a', 'b']);
    expect(parsed.flags[1]!.environments['production']).toEqual({ enabled: true, default_rollout: { kind: 'all' }, rules: [] });
    expect(first.flagKeys).toEqual(['b']);

    const laterSameFlags = buildPayload(snapshot('12', [flag('a', 2, { archived: true }), flag('b', 1)]));
    expect(laterSameFlags.etag).toBe(first.etag);
    expect(buildPayload(snapshot('13', [flag('a', 2, { archived: true }), flag('b', 2)])).etag).not.toBe(first.etag);
  });
});

describe(etagMatches.name, () => {
  it('matches the tag, in a list, weak, or *', () => {
    expect(etagMatches('"x"', '"x"')).toBe(true);
    expect(etagMatches('"y", W/"x"', '"x"')).toBe(true);
    expect(etagMatches('*', '"x"')).toBe(true);
    expect(etagMatches('"y"', '"x"')).toBe(false);
    expect(etagMatches(undefined, '"x"')).toBe(false);
  });
});

describe(parseReadAfter.name, () => {
  it('reads key@version pairs and refuses anything else with GENERIC.VALIDATION', () => {
    expect(parseReadAfter(undefined)).toEqual([]);
    expect(parseReadAfter('checkout@3, dark_mode@12')).toEqual([{ key: 'checkout', version: 3 }, { key: 'dark_mode', version: 12 }]);
    for (const bad of ['checkout', '@3', 'checkout@0', 'checkout@x', 'a b@1', Array.from({ length: 21 }, (_, i) => `f${i}@1`).join(',')]) {
      expect(() => parseReadAfter(bad)).toThrow(expect.objectContaining({ code: 'GENERIC.VALIDATION' }));
    }
  });
});
