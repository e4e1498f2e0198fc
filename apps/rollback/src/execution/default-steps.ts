import { CAPACITY_STEPS, TRAFFIC_STEPS, type ExecutionStep, type RollbackScope, type StepDefinition } from '#rollgate/contracts';

export interface EmergencyOptions {
  asOf?: string;
  environments?: string[];
}

/** Confirms fan-out before capacity moves and ends the emergency defaults; bounded so an emergency never hangs. */
export const DEFAULT_WAIT_SECONDS = 30;

/**
 * The emergency defaults per scope: the fastest path that stops the exposure (kill switches, or a restore when a
 * time is given), then a confirmation that every SDK applied it. No capacity step: an emergency changes traffic.
 */
export function emergencySteps(scope: RollbackScope, targetId: string, options: EmergencyOptions = {}): StepDefinition[] {
  const environments = options.environments === undefined ? {} : { environments: options.environments };
  const wait: StepDefinition = { type: 'wait_for_propagation', config: { timeoutSeconds: DEFAULT_WAIT_SECONDS } };
  switch (scope) {
    case 'feature_flag':
      return [{ type: 'disable_feature_flag', config: { flagId: targetId, ...environments } }, wait];
    case 'environment':
      return [
        options.asOf === undefined
          ? { type: 'disable_environment', config: { environment: targetId } }
          : { type: 'restore_environment', config: { environment: targetId, asOf: options.asOf } },
        wait,
      ];
    case 'system_wide':
      return [options.asOf === undefined ? { type: 'disable_environment', config: {} } : { type: 'restore_system', config: { asOf: options.asOf } }, wait];
    case 'user_group':
      return [{ type: 'remove_user_group', config: { segment: targetId, ...environments } }, wait];
    case 'canary_deployment':
      return [{ type: 'end_canary', config: { canaryId: targetId, outcome: 'rolled_back' } }];
    default: {
      const unknown: never = scope;
      throw new Error(`unknown scope ${String(unknown)}`);
    }
  }
}

/**
 * The steps an execution runs: the plan's, with a propagation wait inserted before the first capacity step when
 * flag steps precede it without one (the seed's own plan goes disable → restart), so capacity never moves before
 * every SDK applied the traffic change.
 */
export function executionSteps(steps: readonly StepDefinition[]): ExecutionStep[] {
  const out: ExecutionStep[] = [];
  let trafficSinceWait = false;
  let inserted = false;
  for (const step of steps) {
    if (CAPACITY_STEPS.has(step.type) && trafficSinceWait && !inserted) {
      out.push({ type: 'wait_for_propagation', config: { timeoutSeconds: DEFAULT_WAIT_SECONDS }, inserted: true });
      inserted = true;
    }
    if (TRAFFIC_STEPS.has(step.type)) trafficSinceWait = true;
    if (step.type === 'wait_for_propagation') trafficSinceWait = false;
    out.push(step);
  }
  return out;
}
