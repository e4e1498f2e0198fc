import type { Execution, PlanInput, RollbackPlan } from '#rollgate/contracts';
import { camelToSnake, pathToSnakeCase, toCamelCase, toSnakeCase } from '../http/json-case.js';
import type { CreateRollbackPlanDto, RollbackStepDto, UpdateRollbackPlanDto } from './rollback.dto.js';

/** The seed's names for plan fields over HTTP (`rollback_steps`, `rollback_criteria`); the model's on the bus. */
const HTTP_NAMES: Record<string, string> = { steps: 'rollback_steps', criteria: 'rollback_criteria' };

const stepsFromHttp = (steps: RollbackStepDto[]) =>
  steps.map((step) => ({
    type: step.type,
    config: toCamelCase<Record<string, unknown>>(step.config ?? {}),
    ...(step.continue_on_failure === undefined ? {} : { continueOnFailure: step.continue_on_failure }),
  }));

export function planFromHttp(body: CreateRollbackPlanDto | UpdateRollbackPlanDto): Partial<PlanInput> {
  const plan: Record<string, unknown> = {};
  if ('id' in body && body.id !== undefined) plan['id'] = body.id;
  if (body.name !== undefined) plan['name'] = body.name;
  if (body.description !== undefined) plan['description'] = body.description;
  if (body.rollback_type !== undefined) plan['rollbackType'] = body.rollback_type;
  if (body.scope !== undefined) plan['scope'] = body.scope;
  if (body.target_id !== undefined) plan['targetId'] = body.target_id;
  if (body.rollback_steps !== undefined) plan['steps'] = stepsFromHttp(body.rollback_steps);
  if (body.rollback_criteria !== undefined) plan['criteria'] = toCamelCase(body.rollback_criteria);
  if (body.on_failure !== undefined) plan['onFailure'] = body.on_failure;
  return plan as Partial<PlanInput>;
}

export function presentPlan(plan: RollbackPlan): Record<string, unknown> {
  const { steps, criteria, ...rest } = plan;
  return {
    ...toSnakeCase<Record<string, unknown>>(rest),
    rollback_steps: toSnakeCase(steps),
    ...(criteria === undefined ? {} : { rollback_criteria: toSnakeCase(criteria) }),
  };
}

/** The status the seed's GET /rollbacks/{id}/status returns: the execution with its steps, attempts and timings. */
export const presentExecution = (execution: Execution): Record<string, unknown> => ({ execution_id: execution.id, ...toSnakeCase<Record<string, unknown>>(execution) });

/** `plan.steps[0].config.flagId` → `rollback_steps[0].config.flag_id` (the HTTP body's names). */
export const planPathToHttp = (path: string): string => {
  const withoutRoot = path.replace(/^(plan|changes)\.?/, '');
  const [head, ...rest] = withoutRoot.split('.');
  const first = head === undefined ? '' : head.replace(/^([a-zA-Z]+)/, (name) => HTTP_NAMES[name] ?? camelToSnake(name));
  return [first, ...rest.map((part) => pathToSnakeCase(part))].filter((part) => part !== '').join('.');
};
