import { exposureValue } from './outcome-rollup.js';

describe(exposureValue.name, () => {
  it('maps on/off to the boolean value and an experiment variant to its payload', () => {
    expect(exposureValue(undefined, 'on')).toEqual({ value: 'true', enabled: true });
    expect(exposureValue(undefined, 'off')).toEqual({ value: 'false', enabled: false });
    expect(exposureValue(undefined, 'default')).toEqual({ value: 'null', enabled: false });
    const flag = {
      key: 'exp',
      name: 'exp',
      type: 'experiment' as const,
      version: 1,
      environments: {},
      offVariant: 'a',
      variants: [
        { key: 'a', weight: 1, payload: 1 },
        { key: 'b', weight: 1, payload: { x: 2 } },
      ],
    };
    expect(exposureValue(flag, 'a')).toEqual({ value: '1', enabled: false });
    expect(exposureValue(flag, 'b')).toEqual({ value: '{"x":2}', enabled: true });
    expect(exposureValue(flag, 'gone')).toEqual({ value: 'null', enabled: false });
  });
});
