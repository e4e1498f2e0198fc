import type { SdkStatusReport } from '#rollgate/contracts';
import { checkStatusReport, PropagationTracker } from './propagation.tracker.js';

const report = (overrides: Partial<SdkStatusReport> = {}): SdkStatusReport => ({
  clientId: 'c1',
  environment: 'production',
  appliedPosition: '7',
  appliedEventId: 'e1',
  lastEventRecordedAt: '2026-01-01T00:00:00.000Z',
  appliedAt: '2026-01-01T00:00:00.012Z',
  state: 'connected',
  ...overrides,
});

describe(PropagationTracker.name, () => {
  it('yields the lag of a newly applied event only, never for a first report', () => {
    const tracker = new PropagationTracker({ statusIntervalMs: 1_000 });
    expect(tracker.observe(report(), 0)).toBeUndefined();
    expect(tracker.observe(report(), 1_000)).toBeUndefined();
    expect(tracker.observe(report({ appliedEventId: 'e2' }), 2_000)).toBeCloseTo(0.012);
    expect(tracker.observe(report({ appliedEventId: null, appliedAt: null }), 3_000)).toBeUndefined();
    // Clock skew never makes a negative lag.
    expect(tracker.observe(report({ appliedEventId: 'e3', appliedAt: '2025-12-31T23:59:59.000Z' }), 4_000)).toBe(0);
  });

  it('keeps clients apart per environment and client id', () => {
    const tracker = new PropagationTracker({ statusIntervalMs: 1_000 });
    tracker.observe(report(), 0);
    expect(tracker.observe(report({ clientId: 'c2', appliedEventId: 'e2' }), 0)).toBeUndefined();
    expect(tracker.observe(report({ environment: 'staging', appliedEventId: 'e2' }), 0)).toBeUndefined();
    expect(tracker.observe(report({ appliedEventId: 'e2' }), 0)).toBeCloseTo(0.012);
  });

  it('counts clients heard within 3 status intervals and forgets the others', () => {
    const tracker = new PropagationTracker({ statusIntervalMs: 1_000 });
    tracker.observe(report({ clientId: 'a' }), 0);
    tracker.observe(report({ clientId: 'b' }), 2_500);
    tracker.observe(report({ clientId: 'c', environment: 'staging' }), 2_500);
    expect(tracker.connected(3_000)).toEqual(new Map([['production', 2], ['staging', 1]]));
    expect(tracker.connected(3_001)).toEqual(new Map([['production', 1], ['staging', 1]]));
    // 'a' was forgotten: its next report is a first one again.
    expect(tracker.observe(report({ clientId: 'a', appliedEventId: 'e9' }), 3_002)).toBeUndefined();
  });

  it('forgets the least recently heard client beyond maxClients', () => {
    const tracker = new PropagationTracker({ statusIntervalMs: 1_000, maxClients: 2 });
    tracker.observe(report({ clientId: 'a' }), 0);
    tracker.observe(report({ clientId: 'b' }), 1);
    tracker.observe(report({ clientId: 'a' }), 2);
    tracker.observe(report({ clientId: 'c' }), 3);
    expect(tracker.connected(4).get('production')).toBe(2);
    expect(tracker.observe(report({ clientId: 'b', appliedEventId: 'e2' }), 5)).toBeUndefined();
  });
});

describe(checkStatusReport.name, () => {
  it('accepts the SDK report and refuses malformed ones', () => {
    expect(checkStatusReport('production', report())).toEqual(report());
    expect(checkStatusReport('production', report({ appliedEventId: null, lastEventRecordedAt: null, appliedAt: null }))).toBeDefined();
    expect(checkStatusReport('staging', report())).toBeUndefined();
    expect(checkStatusReport('production', { ...report(), clientId: '' })).toBeUndefined();
    expect(checkStatusReport('production', { ...report(), appliedPosition: '-1' })).toBeUndefined();
    expect(checkStatusReport('production', { ...report(), appliedAt: 'later' })).toBeUndefined();
    expect(checkStatusReport('production', 'text')).toBeUndefined();
  });
});
