import { CliCodes } from '../errors/cli-error.js';
import { EXIT, exitCodeOf } from '../errors/exit-codes.js';
import { canaryEnded, canaryFailure, rollbackEnded, rollbackFailure } from './outcomes.js';

describe('rollback outcomes', () => {
  it('an execution ends succeeded, failed, cancelled or preempted', () => {
    expect(['scheduled', 'running'].map((status) => rollbackEnded({ status }))).toEqual([false, false]);
    expect(['succeeded', 'failed', 'cancelled', 'preempted'].map((status) => rollbackEnded({ status }))).toEqual([true, true, true, true]);
  });

  it('only a success is a completed rollback; the others exit 10 and say why', () => {
    expect(rollbackFailure({ execution_id: 'e1', status: 'succeeded' })).toBeUndefined();
    const failed = rollbackFailure({ execution_id: 'e1', status: 'failed', steps: [{ status: 'failed', error: { code: 'ROLLBACK.PROPAGATION_TIMEOUT', message: '2 of 3 SDKs' } }] });
    expect(failed).toMatchObject({ code: CliCodes.rollbackIncomplete, message: 'rollback e1 did not complete: failed (ROLLBACK.PROPAGATION_TIMEOUT: 2 of 3 SDKs)' });
    const cancelled = rollbackFailure({ execution_id: 'e2', status: 'cancelled', cancel_requested: { actor: 'token:ab', at: '2026-12-01T10:00:00Z', reason: 'false alarm' } });
    expect(cancelled?.message).toBe('rollback e2 did not complete: cancelled (cancelled by token:ab at 2026-12-01T10:00:00Z: false alarm)');
    expect(rollbackFailure({ execution_id: 'e3', status: 'preempted', preempted_by: 'e4' })?.message).toContain('preempted by execution e4');
    expect(exitCodeOf(failed!.code)).toBe(EXIT.rollbackIncomplete);
  });
});

describe('canary outcomes', () => {
  it('a watch ends at promoted, rolled back, cancelled, paused or inconclusive; not while rolling back', () => {
    const ends = ['created', 'running', 'promoting', 'rolling_back', 'promoted', 'rolled_back', 'cancelled', 'paused', 'inconclusive'].map((status) => [status, canaryEnded({ status })]);
    expect(Object.fromEntries(ends)).toEqual({ created: false, running: false, promoting: false, rolling_back: false, promoted: true, rolled_back: true, cancelled: true, paused: true, inconclusive: true });
  });

  it('promoted is success; a regression exits 11; any other end without promotion 12', () => {
    expect(canaryFailure({ id: 'c1', status: 'promoted' })).toBeUndefined();
    const regression = { decision_id: 'd1', metric: 'errors', at: '2026-12-01T10:00:00Z', action: 'rollback' };
    expect(canaryFailure({ id: 'c1', status: 'rolled_back', regression })).toMatchObject({ code: CliCodes.canaryRegressed, message: 'canary c1 regressed on errors: rolled_back' });
    expect(canaryFailure({ id: 'c1', status: 'paused', regression })?.code).toBe(CliCodes.canaryRegressed);
    expect(canaryFailure({ id: 'c1', status: 'rolled_back' })?.code).toBe(CliCodes.canaryNotPromoted);
    expect(canaryFailure({ id: 'c1', status: 'cancelled' })?.code).toBe(CliCodes.canaryNotPromoted);
    expect(canaryFailure({ id: 'c1', status: 'inconclusive' })?.code).toBe(CliCodes.canaryNotPromoted);
    expect([exitCodeOf(CliCodes.canaryRegressed), exitCodeOf(CliCodes.canaryNotPromoted)]).toEqual([11, 12]);
  });
});
