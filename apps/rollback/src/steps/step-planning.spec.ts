import { evolveExecution, type Execution, type ExecutionEvent, type ExecutionState, type FlagDefinition } from '#rollgate/contracts';
import { stepProblems } from '../plan/plan.validation.js';
import { intendedState, intentHolds } from './consistency.check.js';
import { definitionHash, hashOf, planOperations, trafficSoFar } from './step-planning.js';

const flag = (key: string, environments: FlagDefinition['environments']): FlagDefinition => ({ key, name: key, type: 'boolean', environments, version: 3 });
const on = { enabled: true, defaultRollout: { type: 'all_users' as const } };

const execution = (steps: ExecutionEvent[] = []): Execution => {
  const events: ExecutionEvent[] = [
    {
      type: 'ExecutionRequested',
      data: {
        id: 'e1', type: 'manual', scope: 'feature_flag', targetId: 'a', priority: 1, onFailure: 'stop', requestedAt: '2025-01-01T00:00:00.000Z',
        cause: { kind: 'manual', actor: 'alice', reason: 'r' },
        steps: [
          { type: 'disable_feature_flag', config: { flagId: 'a' } },
          { type: 'restore_environment', config: { environment: 'qa', asOf: '2024-12-31T00:00:00.000Z' } },
          { type: 'remove_user_group', config: { segment: 'beta', users: ['u1'] } },
          { type: 'wait_for_propagation', config: { timeoutSeconds: 5 } },
          { type: 'restart_service', config: { serviceName: 'api' } },
          { type: 'call_webhook', config: { url: 'http://127.0.0.1:9/h' } },
        ],
      },
    },
    { type: 'ExecutionStarted', data: { at: '2025-01-01T00:00:00.000Z', scope: 'feature_flag', targetId: 'a', priority: 1 } },
    ...steps,
  ];
  return events.reduce<ExecutionState>((state, event, i) => evolveExecution(state, event, i + 1), null)!;
};

describe('planOperations', () => {
  it('disable: one toggle per enabled environment, keyed by execution, step and position', () => {
    const state = execution();
    const ops = planOperations(state.steps[0]!, state, { at: 't', flag: flag('a', { production: on, staging: { ...on, enabled: false } }) });
    expect(ops).toEqual([
      { kind: 'flag', verb: 'toggle', payload: { key: 'a', environment: 'production', enabled: false }, commandId: 'rb:e1:0:0', intent: { check: 'disabled', key: 'a', environment: 'production' } },
    ]);
    expect(() => planOperations(state.steps[0]!, state, { at: 't', flag: null })).toThrow(expect.objectContaining({ code: 'ROLLBACK.TARGET_NOT_FOUND' }));
  });

  it('restore an environment: the as-of config where there was one, off where there was none, nothing elsewhere', () => {
    const state = execution();
    const then = { enabled: true, defaultRollout: { type: 'percentage' as const, ppm: 100 } };
    const ops = planOperations(state.steps[1]!, state, {
      at: 't',
      flags: [flag('x', { qa: on }), flag('y', { qa: on }), flag('z', { production: on })],
      asOf: new Map([['x', flag('x', { qa: then })], ['y', null], ['z', flag('z', { production: on })]]),
    });
    expect(ops.map((op) => op.kind === 'flag' && [op.verb, op.payload])).toEqual([
      ['configure-environment', { key: 'x', environment: 'qa', config: then }],
      ['toggle', { key: 'y', environment: 'qa', enabled: false }],
    ]);
    expect(ops[0]).toMatchObject({ intent: { check: 'environment', hash: hashOf(then) } });
  });

  it('remove a user group: rules naming the segment go, the users leave every user list', () => {
    const state = execution();
    const ops = planOperations(state.steps[2]!, state, {
      at: 't',
      flags: [
        flag('a', {
          production: {
            enabled: true,
            defaultRollout: { type: 'user_list', users: ['u1', 'u2'] },
            rules: [{ id: 'r1', segments: ['beta'] }, { id: 'r2', rollout: { type: 'user_list', users: ['u1'] } }],
          },
        }),
      ],
    });
    expect(ops.map((op) => op.kind === 'flag' && [op.verb, op.payload])).toEqual([
      ['set-rules', { key: 'a', environment: 'production', rules: [{ id: 'r2', rollout: { type: 'user_list', users: ['u1'] } }] }],
      ['change-user-list', { key: 'a', environment: 'production', add: [], remove: ['u1'] }],
      ['change-user-list', { key: 'a', environment: 'production', add: [], remove: ['u1'], ruleId: 'r2' }],
    ]);
  });

  it('wait on the last flag position of the steps before; restart at the step start time; webhook keyed by the step', () => {
    const flags = { flags: [{ key: 'a', verb: 'toggle', version: 4, position: '41', appended: 1, duplicate: false, intent: { check: 'disabled', key: 'a', environment: 'production' } }] };
    const state = execution([
      { type: 'StepStarted', data: { index: 0, at: 't0', operations: [] } },
      { type: 'StepAttempted', data: { index: 0, attempt: 1, at: 't0' } },
      { type: 'StepSucceeded', data: { index: 0, attempt: 1, at: '2025-01-01T00:00:01.000Z', durationMs: 3, result: flags } },
    ]);
    expect(trafficSoFar(state)).toEqual({ position: '41', environments: ['production'] });
    expect(planOperations(state.steps[3]!, state, { at: 't' })).toEqual([{ kind: 'wait', position: '41', environments: ['production'], timeoutMs: 5_000, minClients: 0 }]);
    expect(planOperations(state.steps[4]!, state, { at: '2025-01-01T00:00:09.000Z' })).toEqual([
      { kind: 'kubernetes', action: 'restart', namespace: 'default', name: 'api', restartedAt: '2025-01-01T00:00:09.000Z', idempotencyKey: 'e1.4' },
    ]);
    expect(planOperations(state.steps[5]!, state, { at: 't' })[0]).toMatchObject({ kind: 'webhook', idempotencyKey: 'rb-e1-5', body: { executionId: 'e1', step: 5 } });
    expect(intendedState(state)).toEqual(new Map([['a', [{ check: 'disabled', key: 'a', environment: 'production' }]]]));
  });
});

describe('intentHolds', () => {
  it('checks each kind of intent against the flag as it is', () => {
    const current = flag('a', { production: { enabled: false, defaultRollout: { type: 'percentage', ppm: 5 } } });
    expect(intentHolds({ check: 'disabled', key: 'a', environment: 'production' }, current).holds).toBe(true);
    expect(intentHolds({ check: 'rollout', key: 'a', environment: 'production', rollout: { type: 'percentage', ppm: 6 } }, current).holds).toBe(false);
    expect(intentHolds({ check: 'definition', key: 'a', hash: definitionHash({ ...current, version: 9 }) }, current).holds).toBe(true);
    expect(intentHolds({ check: 'disabled', key: 'a', environment: 'production' }, undefined)).toEqual({ holds: false, actual: null });
  });
});

describe('stepProblems', () => {
  it('refuses unknown kinds and fields, bad configs, and capacity before traffic', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    expect(stepProblems([{ type: 'disable_feature_flag', config: { flagId: 'auto_submit_enabled' } }, { type: 'restart_service', config: { serviceName: 'evidence-validator' } }], 's', now)).toEqual([]);
    expect(stepProblems([{ type: 'nuke', config: {} }], 's', now)[0]!.path).toBe('s[0].type');
    expect(stepProblems([{ type: 'disable_feature_flag', config: { flag_id: 'x' } }], 's', now).map((p) => p.path)).toEqual(['s[0].config.flag_id', 's[0].config.flagId']);
    expect(stepProblems([{ type: 'restore_system', config: { asOf: '2030-01-01T00:00:00Z' } }], 's', now)[0]!.message).toContain('future');
    expect(stepProblems([{ type: 'scale_service', config: { serviceName: 'api', replicas: 0 } }, { type: 'set_rollout', config: { flagId: 'f', percentage: 0 } }], 's', now)[0]!.message).toContain('traffic first');
    expect(stepProblems([{ type: 'call_webhook', config: { url: 'ftp://x' } }], 's', now)[0]!.path).toBe('s[0].config.url');
    expect(stepProblems([], 's', now)).toHaveLength(1);
  });
});
