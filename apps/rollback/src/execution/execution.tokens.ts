/** How the command side tells the executor that there is work (in this process; other replicas poll). */
export const EXECUTION_WAKER = Symbol('EXECUTION_WAKER');
export interface ExecutionWaker {
  /** Look for runnable executions now (and start `executionId` at once when given). */
  wake(executionId?: string): void;
  /** Stop an execution's wait in flight: it was preempted. */
  interrupt(executionId: string): void;
}
