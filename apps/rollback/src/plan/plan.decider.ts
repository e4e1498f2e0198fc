import { isDeepStrictEqual } from 'node:util';
import type { PlanEvent, PlanInput, PlanState, RollbackPlan } from '#rollgate/contracts';
import { RollbackError, RollbackErrorCodes } from '../rollback.errors.js';
import { planProblems } from './plan.validation.js';

export type PlanCommand =
  | { type: 'CreatePlan'; data: { plan: PlanInput & { id: string } } }
  | { type: 'UpdatePlan'; data: { id: string; changes: Partial<Omit<PlanInput, 'id'>>; expectedVersion?: number } }
  | { type: 'ArchivePlan'; data: { id: string } };

const editable = (plan: RollbackPlan): Omit<PlanInput, 'id'> => {
  const { id: _id, version: _version, archived: _archived, ...rest } = plan;
  return rest;
};

function requirePlan(state: PlanState, id: string): RollbackPlan {
  if (state === null) throw RollbackError.planNotFound(id);
  return state;
}

/** Decides a plan command; pure (`now` only bounds the as-of times a step may name). */
export function decidePlan(command: PlanCommand, state: PlanState, now: Date): PlanEvent[] {
  switch (command.type) {
    case 'CreatePlan': {
      const { plan } = command.data;
      if (state !== null) throw new RollbackError(RollbackErrorCodes.planExists, `rollback plan ${plan.id} already exists`, { id: plan.id });
      const problems = planProblems(plan, now);
      if (problems.length > 0) throw RollbackError.invalid('invalid rollback plan', problems);
      return [{ type: 'PlanCreated', data: { plan: { ...plan, onFailure: plan.onFailure ?? 'stop' } } }];
    }
    case 'UpdatePlan': {
      const current = requirePlan(state, command.data.id);
      if (current.archived) throw new RollbackError(RollbackErrorCodes.planArchived, `rollback plan ${current.id} is archived`, { id: current.id });
      const changes = command.data.changes;
      if (typeof changes !== 'object' || changes === null || Object.keys(changes).length === 0) {
        throw RollbackError.invalid('nothing to update', [{ path: 'changes', message: 'must name at least one field' }]);
      }
      const next = { ...editable(current), ...changes };
      const problems = planProblems({ id: current.id, ...next }, now, 'changes');
      if (problems.length > 0) throw RollbackError.invalid('the updated plan would be invalid', problems);
      const changed = Object.fromEntries(
        Object.entries(changes).filter(([field, value]) => !isDeepStrictEqual(value, (current as unknown as Record<string, unknown>)[field])),
      );
      return Object.keys(changed).length === 0 ? [] : [{ type: 'PlanUpdated', data: { changes: changed } }];
    }
    case 'ArchivePlan': {
      const current = requirePlan(state, command.data.id);
      return current.archived ? [] : [{ type: 'PlanArchived', data: {} }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export const planCommandKey = (command: PlanCommand): string => (command.type === 'CreatePlan' ? command.data.plan.id : command.data.id);
