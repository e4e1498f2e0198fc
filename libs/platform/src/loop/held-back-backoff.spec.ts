import { HeldBackBackoff } from './held-back-backoff.js';

describe(HeldBackBackoff.name, () => {
  it('doubles from 1 ms up to the idle interval while a committed event is expected, and starts over after a read with events', () => {
    const backoff = new HeldBackBackoff(50);
    expect(Array.from({ length: 8 }, () => backoff.pause(true))).toEqual([1, 2, 4, 8, 16, 32, 50, 50]);
    backoff.reset();
    expect(backoff.pause(true)).toBe(1);
  });

  it('waits the idle interval when nothing is expected, and forgets the growth', () => {
    const backoff = new HeldBackBackoff(50);
    backoff.pause(true);
    backoff.pause(true);
    expect(backoff.pause(false)).toBe(50);
    expect(backoff.pause(true)).toBe(1);
  });
});
