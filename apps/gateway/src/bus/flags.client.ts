import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { subjects, type CommandEnvelope, type FLAG_COMMANDS, type FLAG_QUERIES } from '#rollgate/contracts';
import { MessagingError, NATS_CONNECTION, requestCommand } from '#rollgate/messaging';
import { RollgateError } from '#rollgate/platform';
import { GatewayEnv } from '../gateway.config.js';
import type { CommandContext } from './command-context.js';

export type FlagCommandVerb = (typeof FLAG_COMMANDS)[keyof typeof FLAG_COMMANDS];
export type FlagQueryNoun = (typeof FLAG_QUERIES)[keyof typeof FLAG_QUERIES];

/**
 * The gateway's only way to the flags service: `rg.cmd.flags.<verb>` / `rg.qry.flags.<noun>` with the raw
 * CommandEnvelope. An `{ ok: false }` reply is rethrown as a RollgateError with the service's code, so the HTTP
 * filter gives it the status its code maps to (no responders 503, timeout 504).
 */
@Injectable()
export class FlagsClient {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly env: GatewayEnv,
  ) {}

  command<Result>(verb: FlagCommandVerb, payload: object, context: CommandContext): Promise<Result> {
    const withVersion =
      context.expectedVersion === undefined ? payload : { ...payload, expectedVersion: context.expectedVersion };
    return this.send<Result>(subjects.command('flags', verb), this.envelope(withVersion, context, context.commandId));
  }

  query<Result>(noun: FlagQueryNoun, payload: object, context: Pick<CommandContext, 'actor' | 'correlationId'>): Promise<Result> {
    return this.send<Result>(subjects.query('flags', noun), this.envelope(payload, context, randomUUID()));
  }

  private envelope(
    payload: object,
    context: Pick<CommandContext, 'actor' | 'correlationId' | 'reason'>,
    commandId: string,
  ): CommandEnvelope<object> {
    const envelope: CommandEnvelope<object> = { commandId, actor: context.actor, payload };
    if (context.reason !== undefined) envelope.reason = context.reason;
    if (context.correlationId !== undefined) envelope.correlationId = context.correlationId;
    return envelope;
  }

  private async send<Result>(subject: string, envelope: CommandEnvelope<object>): Promise<Result> {
    let reply;
    try {
      reply = await requestCommand<Result>(this.nc, subject, envelope, { timeoutMs: this.env.ROLLGATE_BUS_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof MessagingError) {
        throw new RollgateError(error.code, `flags service: ${error.message}`, { details: { subject }, cause: error });
      }
      throw error;
    }
    if (!reply.ok) throw RollgateError.fromBody(reply.error);
    return reply.result;
  }
}
