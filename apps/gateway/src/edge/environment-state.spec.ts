import { RollgateClient } from '#rollgate/sdk';
import type { FlagDefinition } from '#rollgate/evaluation';
import { EnvironmentState } from './environment-state.js';

const flag = (key: string, version: number): FlagDefinition =>
  ({ key, name: key, type: 'boolean', version, environments: { production: { enabled: true, defaultRollout: { type: 'all_users' } } } }) as FlagDefinition;

const stateOf = (flags: FlagDefinition[]): EnvironmentState =>
  new EnvironmentState(
    RollgateClient.offline({ environment: 'production', snapshot: { environment: 'production', position: '7', flags, segments: [] }, outcomeSink: () => undefined }),
  );

describe(EnvironmentState.name, () => {
  it('serves one payload until the flags change, and evaluates in process', async () => {
    const state = stateOf([flag('checkout', 3)]);
    const first = state.payload();
    expect(state.payload()).toBe(first);
    expect(JSON.parse(first.body.toString())).toMatchObject({ environment: 'production', position: '7', flags: [{ key: 'checkout', version: 3 }] });
    expect(state.evaluate('checkout', { userId: 'u1' })).toMatchObject({ value: true, flagVersion: 3 });
    expect(state.evaluate('nope', { userId: 'u1' })).toMatchObject({ errorCode: 'FLAG_NOT_FOUND' });
    await state.close();
  });

  it('knows whether it holds a flag version, and stops waiting for one that does not come', async () => {
    const state = stateOf([flag('checkout', 3)]);
    expect(state.hasReached([{ key: 'checkout', version: 3 }])).toBe(true);
    expect(state.hasReached([{ key: 'checkout', version: 4 }])).toBe(false);
    expect(state.hasReached([{ key: 'other', version: 1 }])).toBe(false);
    expect(await state.waitFor([{ key: 'checkout', version: 2 }], 0)).toBe(true);
    expect(await state.waitFor([{ key: 'checkout', version: 4 }], 30)).toBe(false);
    await state.close();
  });
});
