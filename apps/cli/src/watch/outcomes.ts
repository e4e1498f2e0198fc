import { TERMINAL_CANARY_STATUSES, TERMINAL_STATUSES, type CanaryStatus, type ExecutionStatus } from '#rollgate/contracts';
import { CliCodes, CliError } from '../errors/cli-error.js';
import { asJson, type Json } from '../output/views/json-body.js';
import { endReason } from '../output/views/rollback.view.js';

/** An execution has ended once it succeeded, failed, was cancelled or preempted. */
export const rollbackEnded = (execution: Json): boolean => TERMINAL_STATUSES.has(execution['status'] as ExecutionStatus);

/** Undefined when the rollback completed; otherwise the error a script sees (exit 10) and why. */
export function rollbackFailure(execution: Json): CliError | undefined {
  if (execution['status'] === 'succeeded') return undefined;
  const id = String(execution['execution_id'] ?? execution['id'] ?? '');
  const why = endReason(execution);
  return new CliError(CliCodes.rollbackIncomplete, `rollback ${id} did not complete: ${String(execution['status'])}${why ? ` (${why})` : ''}`, {
    execution_id: id,
    status: execution['status'],
  });
}

const regressed = (canary: Json): boolean => asJson(canary['regression'])['metric'] !== undefined;

/**
 * A watched canary ends when it is promoted, rolled back or cancelled, and also where it waits for a person: paused
 * on a regression, or inconclusive at its deadline. Rolling back is not an end: the rollback is still running.
 */
export const canaryEnded = (canary: Json): boolean => {
  const status = canary['status'] as CanaryStatus;
  return TERMINAL_CANARY_STATUSES.includes(status) || status === 'paused' || status === 'inconclusive';
};

/** Undefined for a promoted canary; a regression exits 11, any other end without promotion 12. */
export function canaryFailure(canary: Json): CliError | undefined {
  const status = String(canary['status']);
  if (status === 'promoted') return undefined;
  const id = String(canary['id'] ?? '');
  if (regressed(canary)) {
    const regression = asJson(canary['regression']);
    return new CliError(CliCodes.canaryRegressed, `canary ${id} regressed on ${String(regression['metric'])}: ${status}`, { id, status, regression });
  }
  return new CliError(CliCodes.canaryNotPromoted, `canary ${id} ended without a promotion: ${status}`, { id, status });
}
