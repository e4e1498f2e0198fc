import type { Execution } from '#rollgate/contracts';

/** How the command side tells the executor that there is work (in this process; other replicas poll). */
export const EXECUTION_WAKER = Symbol('EXECUTION_WAKER');
export interface ExecutionWaker {
  /**
   * Look for runnable executions now (and start `executionId` at once when given). `recorded` is the execution as
   * the request just appended it with its first step's attempt 1 in flight: the executor performs that attempt
   * without recording another (after a crash, or in another replica, it is an interrupted attempt as any other).
   */
  wake(executionId?: string, recorded?: Execution): void;
  /** Stop an execution's wait in flight: it was preempted. */
  interrupt(executionId: string): void;
}
