import { LATENCY_BUCKETS_MS } from '#rollgate/contracts';
import { OutcomeAggregator, latencyBucket } from './outcome-aggregator.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const make = (extra = {}) => new OutcomeAggregator({ clientId: 'c1', environment: 'prod', ...extra }, T0);

describe(OutcomeAggregator.name, () => {
  it('aggregates requests, errors, distinct erroring units, latency buckets and exposures per flag and variant', () => {
    const agg = make();
    agg.track('pay', 'on', 'u1', 'error', 3);
    agg.track('pay', 'on', 'u1', 'error', 7);
    agg.track('pay', 'on', 'u2', 'success', 30_000);
    agg.track('pay', 'off', 'u3', 'error', undefined);
    agg.exposure('pay', 'on');
    agg.exposure('pay', 'on');
    agg.exposure('exp', 'blue');
    agg.roll(T0 + 10_000);
    const batches = agg.takeBatches();
    expect(batches.map((b) => b.flagKey)).toEqual(['pay', 'exp']);
    const pay = batches[0]!;
    expect(pay).toMatchObject({ schema: 1, clientId: 'c1', environment: 'prod', windowStart: '2026-01-01T00:00:00.000Z', windowMs: 10_000, droppedWindows: 0 });
    const on = pay.cohorts.find((c) => c.variant === 'on')!;
    expect(on).toMatchObject({ requests: 3, errors: 2, errorUnits: 1, exposures: 2, latencySumMs: 30_010, errorUnitsCapped: false });
    expect(on.latencyBuckets[0]).toBe(1);
    expect(on.latencyBuckets[1]).toBe(1);
    expect(on.latencyBuckets[LATENCY_BUCKETS_MS.length]).toBe(1);
    expect(pay.cohorts.find((c) => c.variant === 'off')).toMatchObject({ requests: 1, errors: 1, errorUnits: 1, exposures: 0 });
    expect(batches[1]!.cohorts).toEqual([expect.objectContaining({ variant: 'blue', exposures: 1, requests: 0 })]);
    expect(agg.takeBatches()).toEqual([]);
  });

  it('adds exposures given as counts (the client drains its per-flag counters this way) to the current window', () => {
    const agg = make();
    agg.exposure('exp', 'blue', 40);
    agg.exposure('exp', 'blue', 2);
    agg.exposure('exp', 'green', 5);
    agg.exposure('pay', 'off', 0); // nothing counted: no batch for it
    agg.track('exp', 'green', 'u1', 'success', 1);
    agg.roll(T0 + 10_000);
    agg.exposure('exp', 'blue', 7);
    agg.roll(T0 + 20_000);
    const batches = agg.takeBatches();
    expect(batches.map((b) => [b.flagKey, b.windowStart, Object.fromEntries(b.cohorts.map((c) => [c.variant, c.exposures]))])).toEqual([
      ['exp', '2026-01-01T00:00:00.000Z', { blue: 42, green: 5 }],
      ['exp', '2026-01-01T00:00:10.000Z', { blue: 7 }],
    ]);
    expect(batches[0]!.cohorts.find((c) => c.variant === 'green')).toMatchObject({ exposures: 5, requests: 1 });
  });

  it('puts a latency equal to a bound into that bound', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(5)).toBe(0);
    expect(latencyBucket(5.01)).toBe(1);
    expect(latencyBucket(10_000)).toBe(LATENCY_BUCKETS_MS.length - 1);
    expect(latencyBucket(10_001)).toBe(LATENCY_BUCKETS_MS.length);
  });

  it('keeps counting past the distinct-unit cap but flags the count as a lower bound', () => {
    const agg = make({ maxErrorUnits: 2 });
    for (const unit of ['a', 'b', 'a', 'c']) agg.track('f', 'on', unit, 'error', 1);
    agg.roll(T0 + 1);
    expect(agg.takeBatches()[0]!.cohorts[0]).toMatchObject({ errors: 4, errorUnits: 2, errorUnitsCapped: true });
  });

  it('windows are separate, and windows with nothing in them produce no batch', () => {
    const agg = make();
    agg.track('f', 'on', 'u', 'success', 1);
    agg.roll(T0 + 10_000);
    agg.roll(T0 + 20_000);
    agg.track('f', 'on', 'u', 'error', 1);
    agg.roll(T0 + 30_000);
    const batches = agg.takeBatches();
    expect(batches.map((b) => [b.windowStart, b.cohorts[0]!.requests, b.cohorts[0]!.errors])).toEqual([
      ['2026-01-01T00:00:00.000Z', 1, 0],
      ['2026-01-01T00:00:20.000Z', 1, 1],
    ]);
  });

  it('stays bounded while nothing is taken: the oldest windows go and are counted once in the next batches', () => {
    const agg = make({ maxPendingWindows: 3 });
    for (let i = 0; i < 10; i++) {
      agg.track('f', 'on', 'u', 'success', 1);
      agg.roll(T0 + (i + 1) * 1000);
    }
    expect(agg.pendingWindows).toBe(3);
    const batches = agg.takeBatches();
    expect(batches.map((b) => b.windowStart)).toEqual(['2026-01-01T00:00:07.000Z', '2026-01-01T00:00:08.000Z', '2026-01-01T00:00:09.000Z']);
    expect(batches.every((b) => b.droppedWindows === 7)).toBe(true);
    agg.track('f', 'on', 'u', 'success', 1);
    agg.roll(T0 + 20_000);
    expect(agg.takeBatches()[0]!.droppedWindows).toBe(0);
  });

  it('caps distinct flags per window and counts what it refused', () => {
    const agg = make({ maxFlags: 2 });
    agg.exposure('a', 'on');
    agg.track('b', 'on', 'u', 'success', 1);
    agg.exposure('c', 'on');
    agg.track('d', 'on', 'u', 'error', 1);
    agg.exposure('e', 'on', 5); // five exposures refused
    agg.roll(T0 + 1);
    expect(agg.takeBatches().map((b) => b.flagKey)).toEqual(['a', 'b']);
    expect(agg.droppedFlags).toBe(7);
  });
});
