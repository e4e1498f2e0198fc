import type { AggregateType } from '#rollgate/commands';
import {
  evolveExecution,
  evolvePlan,
  EXECUTION_EVENT_TYPES,
  PLAN_EVENT_TYPES,
  type ExecutionEvent,
  type ExecutionState,
  type PlanEvent,
  type PlanState,
} from '#rollgate/contracts';

/** `rollback-plan-<id>` streams. */
export const planAggregate: AggregateType<PlanState, PlanEvent> = {
  name: 'rollback-plan',
  area: 'ROLLBACK',
  eventTypes: new Set(PLAN_EVENT_TYPES),
  initialState: null,
  evolve: evolvePlan,
};

/** `rollback-<execution id>` streams (execution ids are UUIDs, never `plan-…`). */
export const executionAggregate: AggregateType<ExecutionState, ExecutionEvent> = {
  name: 'rollback',
  area: 'ROLLBACK',
  eventTypes: new Set(EXECUTION_EVENT_TYPES),
  initialState: null,
  evolve: evolveExecution,
};
