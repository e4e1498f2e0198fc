import { Inject, Injectable } from '@nestjs/common';
import {
  headers as natsHeaders,
  NoRespondersError,
  RequestError,
  TimeoutError,
  type NatsConnection,
} from '@nats-io/nats-core';
import {
  CORRELATION_HEADER,
  ErrorCodes,
  canarySubjects,
  type CanaryCommandVerb,
  type CanaryQueryNoun,
  type CommandEnvelope,
  type Reply,
} from '#rollgate/contracts';
import { MessagingError, NATS_CONNECTION, requestCommand } from '#rollgate/messaging';
import { RollgateError, ValidationError, problemsOf } from '#rollgate/platform';
import { pathToSnakeCase } from '../http/json-case.js';
import { GatewayEnv } from '../gateway.config.js';
import type { CommandContext } from './command-context.js';
import type { PathToHttp } from './flags.client.js';

/** A canary command drives its flag change before it answers (a flags command, maybe several): more time than one hop. */
const COMMAND_EXTRA_MS = 5_000;

/**
 * The gateway's way to the canary service, as FlagsClient is to the flags service: `rg.cmd.canary.<verb>` with the
 * CommandEnvelope, `rg.qry.canary.<noun>` with the query itself; an `{ ok: false }` reply is rethrown with the
 * service's code (validation paths renamed to the HTTP body's fields).
 */
@Injectable()
export class CanaryClient {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly env: GatewayEnv,
  ) {}

  async command<Result>(
    verb: CanaryCommandVerb,
    payload: object,
    context: CommandContext,
    pathToHttp: PathToHttp = pathToSnakeCase,
  ): Promise<Result> {
    const envelope: CommandEnvelope<object> = { commandId: context.commandId, actor: context.actor, payload };
    if (context.reason !== undefined) envelope.reason = context.reason;
    if (context.correlationId !== undefined) envelope.correlationId = context.correlationId;
    if (context.requestHash !== undefined) envelope.requestHash = context.requestHash;
    const subject = canarySubjects.command(verb);
    let reply: Reply<Result>;
    try {
      reply = await requestCommand<Result>(this.nc, subject, envelope, {
        timeoutMs: this.env.ROLLGATE_BUS_TIMEOUT_MS + COMMAND_EXTRA_MS,
      });
    } catch (error) {
      if (error instanceof MessagingError)
        throw new RollgateError(error.code, `canary service: ${error.message}`, { details: { subject }, cause: error });
      throw error;
    }
    if (!reply.ok) throw fromReply(reply.error, pathToHttp);
    return reply.result;
  }

  async query<Result>(noun: CanaryQueryNoun, query: object, correlationId?: string): Promise<Result> {
    const subject = canarySubjects.query(noun);
    const h = natsHeaders();
    if (correlationId !== undefined) h.set(CORRELATION_HEADER, correlationId);
    let data: string;
    try {
      data = (
        await this.nc.request(subject, JSON.stringify(query), { timeout: this.env.ROLLGATE_BUS_TIMEOUT_MS, headers: h })
      ).string();
    } catch (error) {
      if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) {
        throw new RollgateError(ErrorCodes.unavailable, `canary service: no responders on ${subject}`, {
          details: { subject },
          cause: error,
        });
      }
      if (error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError)) {
        throw new RollgateError(ErrorCodes.timeout, `canary service: ${subject} timed out`, {
          details: { subject },
          cause: error,
        });
      }
      throw error;
    }
    let reply: Reply<Result>;
    try {
      reply = JSON.parse(data) as Reply<Result>;
    } catch (cause) {
      throw new RollgateError(ErrorCodes.internal, `canary service: reply on ${subject} is not JSON`, { cause });
    }
    if (reply.ok === true) return reply.result;
    throw fromReply(reply.error, pathToSnakeCase);
  }
}

const fromReply = (body: unknown, pathToHttp: PathToHttp): RollgateError => {
  const error = RollgateError.fromBody(body);
  const problems = error.code === ErrorCodes.validation ? problemsOf(error.details) : undefined;
  if (problems === undefined) return error;
  return ValidationError.of(
    problems.map(({ path, message }) => ({ path: pathToHttp(path), message })),
    error.message,
  );
};
