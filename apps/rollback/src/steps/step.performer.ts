import type { NatsConnection } from '@nats-io/transport-node';
import { rollbackSubjects, type EnvironmentConfig, type Execution, type FlagCommandResult, type StepRun } from '#rollgate/contracts';
import { MessagingError, requestCommand } from '#rollgate/messaging';
import { RollgateError } from '#rollgate/platform';
import { RollbackErrorCodes } from '../rollback.errors.js';
import { batchFlagOperations } from './flag-batches.js';
import { FlagsPort, type FlagsOrigin } from './flags.port.js';
import { KubernetesPort } from './kubernetes.port.js';
import { SdkStatusBoard } from './sdk-status.board.js';
import { definitionHash, factsNeeded, type PlanningFacts } from './step-planning.js';
import { isTransient, StepFailure } from './step.failure.js';
import type { FlagOperation, FlagOperationResult, Operation } from './step-operations.js';
import { WebhookPort } from './webhook.port.js';

export interface PerformerOptions {
  flagConcurrency: number;
  busTimeoutMs: number;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order, the first error after all settle. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const originOf = (execution: Execution, step: StepRun, commandId: string): FlagsOrigin => ({
  commandId,
  actor: execution.cause.actor,
  reason: `rollback ${execution.id} step ${step.index} (${step.type})${execution.cause.reason ? `: ${execution.cause.reason}` : ''}`.slice(0, 1_000),
  correlationId: execution.id,
});

/**
 * The side effects of steps. Every one is keyed by the step (flags command ids, the webhook's Idempotency-Key, the
 * restart annotation), so performing an attempt again after a crash repeats nothing the first attempt did.
 */
export class StepPerformer {
  constructor(
    private readonly flags: FlagsPort,
    private readonly board: SdkStatusBoard,
    private readonly kubernetes: KubernetesPort,
    private readonly webhooks: WebhookPort,
    private readonly nc: NatsConnection,
    private readonly options: PerformerOptions,
  ) {}

  /** The queries a step's planning needs (before its StepStarted). */
  async gatherFacts(step: StepRun, at: string): Promise<PlanningFacts> {
    const needed = factsNeeded(step);
    const config = step.config as { flagId?: string; asOf?: string };
    try {
      switch (needed) {
        case 'flag':
          return { at, flag: await this.flags.flag(config.flagId!) };
        case 'flags':
          return { at, flags: await this.flags.activeFlags() };
        case 'flags-as-of': {
          const flags = await this.flags.activeFlags();
          // A restore of one environment needs only that environment's configs; a system restore only which flags existed.
          const environment = step.type === 'restore_environment' ? (step.config as { environment: string }).environment : undefined;
          const asOf = await this.flags.flagsAsOf(flags.map((flag) => flag.key), config.asOf!, environment);
          return { at, flags, asOf };
        }
        case 'none':
          return { at };
        default: {
          const unknown: never = needed;
          throw new Error(`unknown facts ${String(unknown)}`);
        }
      }
    } catch (error) {
      throw StepFailure.of(error, isTransient);
    }
  }

  async perform(execution: Execution, step: StepRun, operations: readonly Operation[], signal: AbortSignal): Promise<unknown> {
    const flagOps = operations.filter((op): op is FlagOperation => op.kind === 'flag');
    if (flagOps.length > 0 || operations.length === 0) return { flags: await this.flagOps(execution, step, flagOps) };
    const results: unknown[] = [];
    for (const op of operations) {
      switch (op.kind) {
        case 'wait': {
          const outcome = await this.board.waitUntilApplied(op.position, op.environments, { timeoutMs: op.timeoutMs, minClients: op.minClients, signal });
          if (signal.aborted) throw new StepFailure({ code: RollbackErrorCodes.interrupted, message: 'the wait was interrupted (preempted or shutting down)' }, true);
          if (!outcome.applied) {
            throw new StepFailure(
              {
                code: RollbackErrorCodes.propagationTimeout,
                message: `${outcome.lagging.length} of ${outcome.clients} SDK clients had not applied position ${op.position} after ${op.timeoutMs} ms`,
                details: { ...outcome, position: op.position, lagging: outcome.lagging.slice(0, 20) },
              },
              false,
            );
          }
          results.push({ position: op.position, clients: outcome.clients, confirmedAt: outcome.confirmedAt });
          break;
        }
        case 'kubernetes':
          results.push(await this.kubernetes.apply(op));
          break;
        case 'webhook':
          // Not aborted on preemption: a request in flight may have reached the receiver; it finishes (bounded by its timeout).
          results.push(await this.webhooks.deliver(op));
          break;
        case 'canary':
          results.push(await this.endCanary(execution, op.canaryId, op.outcome, op.commandId));
          break;
        case 'flag':
          break;
        default: {
          const unknown: never = op;
          throw new Error(`unknown operation ${JSON.stringify(unknown)}`);
        }
      }
    }
    return results.length === 1 ? results[0] : results;
  }

  private async flagOps(execution: Execution, step: StepRun, ops: readonly FlagOperation[]): Promise<FlagOperationResult[]> {
    const settled: PromiseSettledResult<FlagOperationResult>[] = new Array(ops.length);
    const batches = batchFlagOperations(ops);
    await mapLimit(batches, this.options.flagConcurrency, async (batch) => {
      if (batch.kind === 'single') {
        settled[batch.index] = await this.flagOp(execution, step, batch.op).then(
          (value) => ({ status: 'fulfilled' as const, value }),
          (reason: unknown) => ({ status: 'rejected' as const, reason }),
        );
        return;
      }
      try {
        const results = await this.bulkOp(execution, step, batch.environment, batch.ops);
        batch.indexes.forEach((index, n) => (settled[index] = { status: 'fulfilled', value: results[n]! }));
      } catch (reason) {
        for (const index of batch.indexes) settled[index] = { status: 'rejected', reason };
      }
    });
    const failures = settled.flatMap((result, i) => (result.status === 'rejected' ? [{ op: ops[i]!, failure: StepFailure.of(result.reason, isTransient) }] : []));
    if (failures.length > 0) {
      const retryable = failures.every(({ failure }) => failure.retryable);
      const first = failures[0]!.failure.error;
      throw new StepFailure(
        {
          code: retryable ? first.code : RollbackErrorCodes.flagCommandFailed,
          message: `${failures.length} of ${ops.length} flag commands failed; first: ${first.code} ${first.message}`,
          details: { failures: failures.slice(0, 20).map(({ op, failure }) => ({ key: op.payload['key'], verb: op.verb, ...failure.error })) },
        },
        retryable,
      );
    }
    return settled.map((result) => (result as PromiseFulfilledResult<FlagOperationResult>).value);
  }

  private async flagOp(execution: Execution, step: StepRun, op: FlagOperation): Promise<FlagOperationResult> {
    const reply: FlagCommandResult = await this.flags.command(op.verb, op.payload, originOf(execution, step, op.commandId));
    const key = String(op.payload['key']);
    const intent = op.intent ?? (reply.flag === null ? null : { check: 'definition' as const, key, hash: definitionHash(reply.flag) });
    return { key, verb: op.verb, version: reply.version, position: reply.position, appended: reply.appended ?? 0, duplicate: reply.duplicate, intent };
  }

  /** `configure-environment`s of one environment as one `configure-environments`; results in the order of `ops`. */
  private async bulkOp(execution: Execution, step: StepRun, environment: string, ops: readonly FlagOperation[]): Promise<FlagOperationResult[]> {
    const items = ops.map((op) => ({ key: String(op.payload['key']), config: op.payload['config'] as EnvironmentConfig, commandId: op.commandId }));
    // The envelope's id is recorded nowhere (each item's is); it names the bulk in logs and metadata.
    const reply = await this.flags.configureEnvironments(environment, items, originOf(execution, step, `${ops[0]!.commandId}:bulk${ops.length}`));
    return ops.map((op, n) => {
      const item = reply.items[n]!;
      return { key: item.key, verb: op.verb, version: item.version, position: item.position, appended: item.appended, duplicate: item.duplicate, intent: op.intent };
    });
  }

  /** The contract of `rg.cmd.canary.end`: until a canary service answers it, the step fails with CANARY_UNAVAILABLE. */
  private async endCanary(execution: Execution, canaryId: string, outcome: string, commandId: string): Promise<unknown> {
    try {
      const reply = await requestCommand(
        this.nc,
        rollbackSubjects.canaryEnd,
        { commandId, actor: execution.cause.actor, correlationId: execution.id, ...(execution.cause.reason ? { reason: execution.cause.reason } : {}), payload: { canaryId, outcome } },
        { timeoutMs: this.options.busTimeoutMs },
      );
      if (!reply.ok) throw RollgateError.fromBody(reply.error);
      return reply.result;
    } catch (error) {
      if (error instanceof MessagingError && error.code === 'GENERIC.UNAVAILABLE') {
        throw new StepFailure({ code: RollbackErrorCodes.canaryUnavailable, message: `no canary service answers ${rollbackSubjects.canaryEnd} (canary ${canaryId})` }, true);
      }
      throw StepFailure.of(error, isTransient);
    }
  }

  /** Compensation of a flag step: each flag it changed goes back to the version before the change. */
  async compensate(execution: Execution, step: StepRun): Promise<unknown> {
    const flags = (step.result as { flags?: FlagOperationResult[] } | undefined)?.flags ?? [];
    const changed = flags.filter((op) => op.appended > 0);
    const ops: FlagOperation[] = changed.map((op, n) => ({
      kind: 'flag',
      verb: 'revert',
      payload: { key: op.key, toVersion: op.version - op.appended },
      commandId: `rb:${execution.id}:${step.index}:c${n}`,
      intent: null,
    }));
    return { flags: await this.flagOps(execution, step, ops) };
  }
}
