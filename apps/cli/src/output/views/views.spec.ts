import { canaryView } from './canary.view.js';
import { flagListView, rolloutText } from './flag.view.js';
import { executionView, stepProgress } from './rollback.view.js';
import { tokenView } from './token.view.js';

describe('views', () => {
  it('rollouts in a few characters', () => {
    expect([
      rolloutText({ type: 'all_users' }),
      rolloutText({ type: 'percentage', ppm: 250_000 }),
      rolloutText({ type: 'percentage', ppm: 1 }),
      rolloutText({ type: 'user_list', users: ['a', 'b'] }),
      rolloutText({ type: 'gradual', from: 0, to: 500_000, start: 0, end: 1 }),
    ]).toEqual(['all', '25%', '0.0001%', '2 users', 'gradual 0%→50%']);
  });

  it('a flag list shows each environment on or off with its rollout', () => {
    const text = flagListView({ flags: [{ key: 'checkout', type: 'boolean', status: 'active', version: 4, environments: { production: { enabled: true, default_rollout: { type: 'percentage', ppm: 100_000 } }, staging: { enabled: false } } }] });
    expect(text.split('\n')[1]).toBe('checkout  boolean  active  4        production:on(10%) staging:off');
  });

  it("an execution shows its steps' progress, attempts, durations and errors, and why it ended", () => {
    const execution = {
      execution_id: 'e1',
      scope: 'feature_flag',
      target_id: 'checkout',
      type: 'emergency',
      status: 'failed',
      cause: { kind: 'emergency', actor: 'token:ab', executed_by: 'oncall', reason: 'errors up' },
      steps: [
        { index: 0, type: 'disable_feature_flag', status: 'succeeded', attempts: 1, duration_ms: 12 },
        { index: 1, type: 'wait_for_propagation', inserted: true, status: 'failed', attempts: 1, duration_ms: 30_000, error: { code: 'ROLLBACK.PROPAGATION_TIMEOUT', message: 'late' } },
        { index: 2, type: 'call_webhook', status: 'pending', attempts: 0 },
      ],
    };
    expect(stepProgress(execution)).toBe('2/3');
    const text = executionView(execution);
    expect(text).toContain('Status:     ✖ failed   step 2/3');
    expect(text).toContain('Why:        ROLLBACK.PROPAGATION_TIMEOUT: late');
    expect(text).toContain('Cause:      emergency by token:ab for oncall: errors up');
    expect(text).toMatch(/2\s+wait_for_propagation \(inserted\)\s+✖ failed\s+1\s+30000ms\s+ROLLBACK.PROPAGATION_TIMEOUT: late/);
    expect(text).toMatch(/3\s+call_webhook\s+· pending\s+0\n/);
  });

  it('a canary shows its stage, both cohorts with error rates, and each test against its threshold', () => {
    const text = canaryView({
      id: 'c1',
      feature_flag_id: 'checkout',
      strategy: 'percentage',
      status: 'running',
      stage: 0,
      stages: [{ percentage: 10, min_duration_minutes: 60 }],
      totals: { windows: 7, canary: { requests: 200, errors: 10, error_units: 4, slow: 0 }, baseline: { requests: 1800, errors: 18, error_units: 9, slow: 1 } },
      tests: [{ test: 'regression', metric: 'errors', log_e: 1.23456, threshold: 5.29832, crossed: false }],
      certified: false,
    });
    expect(text).toContain('Stage:      1/1 at 10%');
    expect(text).toMatch(/canary\s+200\s+10\s+5%\s+4\s+0/);
    expect(text).toMatch(/baseline\s+1800\s+18\s+1%\s+9\s+1/);
    expect(text).toMatch(/regression\s+errors\s+1\.235\s+5\.298\s+no/);
  });

  it('shows a token secret only where the issue answer carries it, and says it is shown once', () => {
    expect(tokenView({ id: 'ab', name: 'ci', role: 'reader', token: 'rg_ab_secret' })).toContain('Token (shown once, store it now):\nrg_ab_secret\n');
    expect(tokenView({ id: 'ab', name: 'ci', role: 'reader' })).not.toContain('shown once');
  });
});
