import { Inject, Injectable } from '@nestjs/common';
import { headers as natsHeaders, NoRespondersError, RequestError, TimeoutError, type NatsConnection } from '@nats-io/nats-core';
import {
  CORRELATION_HEADER,
  ErrorCodes,
  flagSubjects,
  type CommandEnvelope,
  type FlagCommandVerb,
  type FlagQueryNoun,
  type Reply,
} from '#rollgate/contracts';
import { MessagingError, NATS_CONNECTION, requestCommand } from '#rollgate/messaging';
import { RollgateError, ValidationError, problemsOf } from '#rollgate/platform';
import { pathToSnakeCase } from '../http/json-case.js';
import { GatewayEnv } from '../gateway.config.js';
import type { CommandContext } from './command-context.js';

export type { FlagCommandVerb, FlagQueryNoun } from '#rollgate/contracts';

/** A bus problem path (camelCase, the command's payload) → the HTTP body's naming. */
export type PathToHttp = (path: string) => string;

/**
 * The gateway's only way to the flags service: `rg.cmd.flags.<verb>` with the raw CommandEnvelope, and
 * `rg.qry.flags.<noun>` with the raw query object (the flags service takes queries without an envelope; the
 * correlation id travels in the `Rg-Correlation-Id` header either way). An `{ ok: false }` reply is rethrown as a RollgateError with the service's code, so the HTTP
 * filter gives it the status its code maps to (no responders 503, timeout 504).
 */
@Injectable()
export class FlagsClient {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly env: GatewayEnv,
  ) {}

  /** `pathToHttp` names the problems of a validation reply as the HTTP body does (default: snake_case). */
  command<Result>(verb: FlagCommandVerb, payload: object, context: CommandContext, pathToHttp: PathToHttp = pathToSnakeCase): Promise<Result> {
    const withVersion =
      context.expectedVersion === undefined ? payload : { ...payload, expectedVersion: context.expectedVersion };
    return this.send<Result>(flagSubjects.command(verb), this.envelope(withVersion, context, context.commandId), pathToHttp);
  }

  async query<Result>(noun: FlagQueryNoun, query: object, context: Pick<CommandContext, 'correlationId'>): Promise<Result> {
    const subject = flagSubjects.query(noun);
    const h = natsHeaders();
    if (context.correlationId !== undefined) h.set(CORRELATION_HEADER, context.correlationId);
    let data: string;
    try {
      const msg = await this.nc.request(subject, JSON.stringify(query), { timeout: this.env.ROLLGATE_BUS_TIMEOUT_MS, headers: h });
      data = msg.string();
    } catch (error) {
      throw busFailure(subject, error);
    }
    let reply: Reply<Result>;
    try {
      reply = JSON.parse(data) as Reply<Result>;
    } catch (cause) {
      throw new RollgateError(ErrorCodes.internal, `flags service: reply on ${subject} is not JSON`, { cause });
    }
    if (reply.ok === true) return reply.result;
    throw fromReply(reply.error, pathToSnakeCase);
  }

  private envelope(
    payload: object,
    context: Pick<CommandContext, 'actor' | 'correlationId' | 'reason' | 'requestHash'>,
    commandId: string,
  ): CommandEnvelope<object> {
    const envelope: CommandEnvelope<object> = { commandId, actor: context.actor, payload };
    if (context.reason !== undefined) envelope.reason = context.reason;
    if (context.correlationId !== undefined) envelope.correlationId = context.correlationId;
    if (context.requestHash !== undefined) envelope.requestHash = context.requestHash;
    return envelope;
  }

  private async send<Result>(subject: string, envelope: CommandEnvelope<object>, pathToHttp: PathToHttp): Promise<Result> {
    let reply;
    try {
      reply = await requestCommand<Result>(this.nc, subject, envelope, { timeoutMs: this.env.ROLLGATE_BUS_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof MessagingError) {
        throw new RollgateError(error.code, `flags service: ${error.message}`, { details: { subject }, cause: error });
      }
      throw error;
    }
    if (!reply.ok) throw fromReply(reply.error, pathToHttp);
    return reply.result;
  }
}

/** The service's error, with validation problems renamed to the HTTP API's fields (the bus speaks camelCase). */
const fromReply = (body: unknown, pathToHttp: PathToHttp): RollgateError => {
  const error = RollgateError.fromBody(body);
  const problems = error.code === ErrorCodes.validation ? problemsOf(error.details) : undefined;
  if (problems === undefined) return error;
  return ValidationError.of(problems.map(({ path, message }) => ({ path: pathToHttp(path), message })), error.message);
};

/** Same mapping as the messaging lib's requestCommand: no responders → 503, timeout → 504. */
const busFailure = (subject: string, error: unknown): unknown => {
  if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) {
    return new RollgateError(ErrorCodes.unavailable, `flags service: no responders on ${subject}`, { details: { subject }, cause: error });
  }
  if (error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError)) {
    return new RollgateError(ErrorCodes.timeout, `flags service: ${subject} timed out`, { details: { subject }, cause: error });
  }
  return error;
};
