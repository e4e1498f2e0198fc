import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { CanaryState } from '#rollgate/contracts';
import { CommandHandler, type CommandOrigin, type CommandOutcome } from '#rollgate/commands';
import { CLOCK, type Clock } from '#rollgate/service-runtime';
import { canaryAggregate, type CanaryAggregateState } from './canary.aggregate.js';
import { decideCanary, SYSTEM_ACTOR, type CanaryCommand } from './canary.decider.js';
import { CanaryError } from './canary.errors.js';

/**
 * The canary stream on the command core: load, fold, decide with the clock, append with the expected version,
 * retry a lost race. Operator commands carry their envelope's id (idempotent); the service's own records get a
 * fresh id each, their idempotency is the decider's (a step already applied, a decision already taken, decide
 * nothing).
 */
@Injectable()
export class CanaryRecorder {
  constructor(
    private readonly commands: CommandHandler,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  handle(
    id: string,
    command: CanaryCommand | ((state: CanaryAggregateState) => Promise<CanaryCommand>),
    origin: CommandOrigin,
    request?: { commandType: string; command: unknown },
  ): Promise<CommandOutcome<CanaryAggregateState>> {
    return this.commands.handle(
      canaryAggregate,
      async (_: unknown, state: CanaryAggregateState) => {
        const decided = typeof command === 'function' ? await command(state) : command;
        if (
          state === null &&
          decided.type !== 'CreateCanary' &&
          decided.type !== 'Observe' &&
          decided.type !== 'RecordStep'
        )
          throw CanaryError.notFound(id);
        return decideCanary(decided, state, this.clock());
      },
      {
        origin,
        key: id,
        commandType: request?.commandType ?? (typeof command === 'function' ? 'Canary' : command.type),
        command: request?.command ?? command,
      },
    );
  }

  /** One of the service's own records (a window, a step applied, a trigger's answer), as the system actor. */
  async record(id: string, command: CanaryCommand, reason?: string): Promise<CanaryAggregateState> {
    const origin: CommandOrigin = {
      commandId: `canary-internal:${randomUUID()}`,
      actor: SYSTEM_ACTOR,
      correlationId: `canary-${id}`,
      ...(reason ? { reason } : {}),
    };
    return (await this.handle(id, command, origin)).state;
  }

  async load(id: string): Promise<CanaryState> {
    const { state } = await this.commands.load(canaryAggregate, id);
    if (state === null) throw CanaryError.notFound(id);
    return state;
  }
}
