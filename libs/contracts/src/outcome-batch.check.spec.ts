import { checkOutcomeBatch } from './outcome-batch.check.js';
import { LATENCY_BUCKETS_MS, type OutcomeBatch } from './outcomes.js';

const batch = (overrides: Partial<OutcomeBatch> = {}): OutcomeBatch => ({
  schema: 1,
  batchId: 'b1',
  clientId: 'c1',
  environment: 'production',
  flagKey: 'pay',
  windowStart: '2026-01-01T00:00:00.000Z',
  windowMs: 10_000,
  droppedWindows: 0,
  cohorts: [
    {
      variant: 'on',
      exposures: 3,
      requests: 2,
      errors: 1,
      errorUnits: 1,
      errorUnitsCapped: false,
      latencyBuckets: [2, ...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)],
      latencySumMs: 4,
    },
  ],
  ...overrides,
});
const cohort = (overrides: Record<string, unknown>) => batch({ cohorts: [{ ...batch().cohorts[0]!, ...overrides }] });

describe(checkOutcomeBatch.name, () => {
  it('accepts what the SDK aggregator publishes', () => {
    expect(checkOutcomeBatch('production', 'pay', batch())).toEqual({ ok: true, batch: batch() });
    expect(checkOutcomeBatch('production', 'pay', batch({ cohorts: [] })).ok).toBe(true);
  });

  it.each<[string, unknown]>([
    ['not an object', [1]],
    ['another schema', { ...batch(), schema: 2 }],
    ['no batch id', { ...batch(), batchId: '' }],
    ['an unknown field', { ...batch(), extra: 1 }],
    ['another flag than the subject', batch({ flagKey: 'other' })],
    ['another environment than the subject', batch({ environment: 'staging' })],
    ['a bad window start', batch({ windowStart: 'soon' })],
    ['a negative window', batch({ windowMs: -1 })],
    ['a fractional count', cohort({ requests: 1.5 })],
    ['more errors than requests', cohort({ errors: 3 })],
    ['more error units than errors', cohort({ errorUnits: 2 })],
    ['a short latency histogram', cohort({ latencyBuckets: [0, 1] })],
    [
      'more latencies than requests',
      cohort({ latencyBuckets: [3, ...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)] }),
    ],
    ['an infinite latency sum', cohort({ latencySumMs: null })],
    ['an unknown cohort field', cohort({ users: ['u1'] })],
    ['a variant twice', batch({ cohorts: [batch().cohorts[0]!, batch().cohorts[0]!] })],
  ])('refuses %s', (_, raw) => {
    expect(checkOutcomeBatch('production', 'pay', raw).ok).toBe(false);
  });
});
