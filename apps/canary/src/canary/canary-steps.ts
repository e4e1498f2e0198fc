import {
  type CanaryRollbackTrigger,
  type CanaryState,
  type EnvironmentConfig,
  type FlagStep,
  type Rollout,
} from '#rollgate/contracts';

/**
 * What a canary's state asks to be done next outside its stream, pure: the flag changes of its steps (with
 * idempotency keys derived from the canary, the step and the environment, so a resend after a crash is a duplicate
 * at the flags service and never a second change), the rollback service's trigger, or nothing yet.
 */
export interface FlagOperation {
  environment: string;
  verb: 'configure-environment' | 'remove-environment';
  commandId: string;
  payload: Record<string, unknown>;
}

export type CanaryAction =
  | { kind: 'apply'; step: FlagStep; stage: number; operations: FlagOperation[] }
  | { kind: 'trigger'; request: CanaryRollbackTrigger }
  | { kind: 'wait'; until: number }
  | { kind: 'none' };

const PPM_PER_PERCENT = 10_000;

/** The environment as the canary found it, or an empty one it will create. */
const baseOf = (state: CanaryState, environment: string): EnvironmentConfig =>
  state.prior?.environments[environment] ?? { enabled: false, defaultRollout: { type: 'none' } };

const percentage = (percent: number): Rollout => ({ type: 'percentage', ppm: Math.round(percent * PPM_PER_PERCENT) });

/** Each environment's configuration at stage `stage`. */
export function stageConfigs(
  state: CanaryState,
  stage: number,
): Array<{ environment: string; config: EnvironmentConfig }> {
  const percent = state.stages[stage]?.percentage;
  return state.environments.map((environment) => {
    const base = baseOf(state, environment);
    switch (state.strategy) {
      case 'percentage':
      case 'gradual':
      case 'ab_test':
        return { environment, config: { ...base, enabled: true, defaultRollout: percentage(percent ?? 0) } };
      case 'user_list':
        return {
          environment,
          config: { ...base, enabled: true, defaultRollout: { type: 'user_list', users: state.targetUsers ?? [] } },
        };
      case 'environment':
        return { environment, config: { ...base, enabled: true, defaultRollout: { type: 'all_users' } } };
      default: {
        const unknown: never = state.strategy;
        throw new Error(`unknown strategy ${String(unknown)}`);
      }
    }
  });
}

/** Full rollout: everyone on (A/B: everyone served the canary variant, ahead of the environment's own rules). */
export function promotedConfigs(state: CanaryState): Array<{ environment: string; config: EnvironmentConfig }> {
  return state.environments.map((environment) => {
    const base = baseOf(state, environment);
    if (state.strategy === 'ab_test') {
      const rule = { id: `canary-${state.id}`, variant: state.cohorts.canaryVariant };
      return {
        environment,
        config: { ...base, enabled: true, defaultRollout: { type: 'all_users' }, rules: [rule, ...(base.rules ?? [])] },
      };
    }
    return { environment, config: { ...base, enabled: true, defaultRollout: { type: 'all_users' } } };
  });
}

export const flagCommandId = (state: CanaryState, step: FlagStep, environment: string): string =>
  `canary:${state.id}:${step}:${environment}`;

const configure = (
  state: CanaryState,
  step: FlagStep,
  environment: string,
  config: EnvironmentConfig,
): FlagOperation => ({
  environment,
  verb: 'configure-environment',
  commandId: flagCommandId(state, step, environment),
  payload: { key: state.flagKey, environment, config },
});

/** The flags commands of a step. Stage 0's first one pins the flag version its prior state was read at. */
export function stepOperations(state: CanaryState, step: FlagStep): FlagOperation[] {
  if (step === 'restore') {
    return state.environments.map((environment) => {
      const prior = state.prior?.environments[environment];
      return prior === null || prior === undefined
        ? {
            environment,
            verb: 'remove-environment',
            commandId: flagCommandId(state, step, environment),
            payload: { key: state.flagKey, environment },
          }
        : configure(state, step, environment, prior);
    });
  }
  if (step === 'promote')
    return promotedConfigs(state).map(({ environment, config }) => configure(state, step, environment, config));
  const stage = Number(step.slice('stage-'.length));
  const operations = stageConfigs(state, stage).map(({ environment, config }) =>
    configure(state, step, environment, config),
  );
  if (stage === 0 && state.prior !== undefined && operations[0] !== undefined) {
    operations[0] = {
      ...operations[0],
      payload: { ...operations[0].payload, expectedVersion: state.prior.flagVersion },
    };
  }
  return operations;
}

const stageStep = (stage: number): FlagStep => `stage-${stage}`;

/**
 * The next thing to do for a canary. An automatic rollback of a regression first asks the rollback service
 * (whose execution ends the canary through `rg.cmd.canary.end`); when that service cannot be asked, or has not
 * ended the canary `graceMs` after accepting, the canary restores its flag itself: a rollback never depends on a
 * second service being up.
 */
export function nextAction(state: CanaryState, now: number, graceMs: number): CanaryAction {
  switch (state.status) {
    case 'running':
    case 'inconclusive':
    case 'paused': {
      const step = stageStep(state.stage);
      if (state.appliedSteps.includes(step)) return { kind: 'none' };
      return { kind: 'apply', step, stage: state.stage, operations: stepOperations(state, step) };
    }
    case 'promoting':
      return { kind: 'apply', step: 'promote', stage: state.stage, operations: stepOperations(state, 'promote') };
    case 'rolling_back': {
      const rollback = state.rollback!;
      const restore: CanaryAction = {
        kind: 'apply',
        step: 'restore',
        stage: state.stage,
        operations: stepOperations(state, 'restore'),
      };
      if (rollback.cause !== 'regression' || rollback.endedBy !== undefined || rollback.triggerError !== undefined)
        return restore;
      if (rollback.triggeredAt === undefined) {
        return {
          kind: 'trigger',
          request: {
            source: 'canary_decision',
            canaryId: state.id,
            decisionId: state.regression!.decisionId,
            decision: 'regression',
          },
        };
      }
      const until = Date.parse(rollback.triggeredAt) + graceMs;
      return now >= until ? restore : { kind: 'wait', until };
    }
    default:
      return { kind: 'none' };
  }
}
