import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { CORRELATION_HEADER, ErrorCodes, rollbackSubjects, type CommandEnvelope, type Reply, type RollbackCommandVerb, type RollbackQueryNoun } from '#rollgate/contracts';
import { headers as natsHeaders, NoRespondersError, RequestError, TimeoutError } from '@nats-io/nats-core';
import { MessagingError, NATS_CONNECTION, requestCommand } from '#rollgate/messaging';
import { RollgateError, ValidationError, problemsOf } from '#rollgate/platform';
import { pathToSnakeCase } from '../http/json-case.js';
import { GatewayEnv } from '../gateway.config.js';
import type { CommandContext } from './command-context.js';
import type { PathToHttp } from './flags.client.js';

/**
 * The gateway's way to the rollback service, as FlagsClient is to the flags service: `rg.cmd.rollback.<verb>` with
 * the CommandEnvelope, `rg.qry.rollback.<noun>` with the query itself; an `{ ok: false }` reply is rethrown with the
 * service's code (validation paths renamed to the HTTP body's fields).
 */
@Injectable()
export class RollbackClient {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly env: GatewayEnv,
  ) {}

  async command<Result>(verb: RollbackCommandVerb, payload: object, context: CommandContext, pathToHttp: PathToHttp = pathToSnakeCase): Promise<Result> {
    const envelope: CommandEnvelope<object> = { commandId: context.commandId, actor: context.actor, payload };
    if (context.reason !== undefined) envelope.reason = context.reason;
    if (context.correlationId !== undefined) envelope.correlationId = context.correlationId;
    if (context.requestHash !== undefined) envelope.requestHash = context.requestHash;
    const subject = rollbackSubjects.command(verb);
    let reply: Reply<Result>;
    try {
      // A cancel waits for the execution to stop between steps: give it the bus deadline plus that wait.
      reply = await requestCommand<Result>(this.nc, subject, envelope, { timeoutMs: this.env.ROLLGATE_BUS_TIMEOUT_MS + (verb === 'cancel' ? 6_000 : 0) });
    } catch (error) {
      if (error instanceof MessagingError) throw new RollgateError(error.code, `rollback service: ${error.message}`, { details: { subject }, cause: error });
      throw error;
    }
    if (!reply.ok) throw fromReply(reply.error, pathToHttp);
    return reply.result;
  }

  async query<Result>(noun: RollbackQueryNoun, query: object, correlationId?: string): Promise<Result> {
    const subject = rollbackSubjects.query(noun);
    const h = natsHeaders();
    if (correlationId !== undefined) h.set(CORRELATION_HEADER, correlationId);
    let data: string;
    try {
      data = (await this.nc.request(subject, JSON.stringify(query), { timeout: this.env.ROLLGATE_BUS_TIMEOUT_MS, headers: h })).string();
    } catch (error) {
      if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) {
        throw new RollgateError(ErrorCodes.unavailable, `rollback service: no responders on ${subject}`, { details: { subject }, cause: error });
      }
      if (error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError)) {
        throw new RollgateError(ErrorCodes.timeout, `rollback service: ${subject} timed out`, { details: { subject }, cause: error });
      }
      throw error;
    }
    let reply: Reply<Result>;
    try {
      reply = JSON.parse(data) as Reply<Result>;
    } catch (cause) {
      throw new RollgateError(ErrorCodes.internal, `rollback service: reply on ${subject} is not JSON`, { cause });
    }
    if (reply.ok === true) return reply.result;
    throw fromReply(reply.error, pathToSnakeCase);
  }
}

const fromReply = (body: unknown, pathToHttp: PathToHttp): RollgateError => {
  const error = RollgateError.fromBody(body);
  const problems = error.code === ErrorCodes.validation ? problemsOf(error.details) : undefined;
  if (problems === undefined) return error;
  return ValidationError.of(problems.map(({ path, message }) => ({ path: pathToHttp(path), message })), error.message);
};
