import {
  headers as natsHeaders,
  NoRespondersError,
  RequestError,
  TimeoutError,
  type NatsConnection,
} from '@nats-io/nats-core';
import { CORRELATION_HEADER, ErrorCodes, type CommandEnvelope, type Reply } from '#rollgate/contracts';
import { MessagingError, requestCommand } from '#rollgate/messaging';
import { RollgateError, ValidationError, problemsOf } from '#rollgate/platform';
import { pathToSnakeCase } from '../http/json-case.js';
import type { CommandContext } from './command-context.js';
import type { PathToHttp } from './flags.client.js';

/**
 * One service's commands and queries as the gateway sends them: `subject` with the CommandEnvelope (or the query
 * itself); an `{ ok: false }` reply is rethrown with the service's code, validation paths renamed to the HTTP
 * body's fields; no responders and timeouts become 503 / 504 naming the service.
 */
export class ServiceRequests {
  constructor(
    private readonly nc: NatsConnection,
    private readonly service: string,
    private readonly timeoutMs: number,
  ) {}

  async command<Result>(
    subject: string,
    payload: object,
    context: CommandContext,
    options: { pathToHttp?: PathToHttp; extraMs?: number } = {},
  ): Promise<Result> {
    const envelope: CommandEnvelope<object> = { commandId: context.commandId, actor: context.actor, payload };
    if (context.reason !== undefined) envelope.reason = context.reason;
    if (context.correlationId !== undefined) envelope.correlationId = context.correlationId;
    if (context.requestHash !== undefined) envelope.requestHash = context.requestHash;
    let reply: Reply<Result>;
    try {
      reply = await requestCommand<Result>(this.nc, subject, envelope, { timeoutMs: this.timeoutMs + (options.extraMs ?? 0) });
    } catch (error) {
      if (error instanceof MessagingError) {
        throw new RollgateError(error.code, `${this.service} service: ${error.message}`, { details: { subject }, cause: error });
      }
      throw error;
    }
    if (!reply.ok) throw fromReply(reply.error, options.pathToHttp ?? pathToSnakeCase);
    return reply.result;
  }

  async query<Result>(subject: string, query: object, correlationId?: string): Promise<Result> {
    const h = natsHeaders();
    if (correlationId !== undefined) h.set(CORRELATION_HEADER, correlationId);
    let data: string;
    try {
      data = (await this.nc.request(subject, JSON.stringify(query), { timeout: this.timeoutMs, headers: h })).string();
    } catch (error) {
      if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) {
        throw new RollgateError(ErrorCodes.unavailable, `${this.service} service: no responders on ${subject}`, {
          details: { subject },
          cause: error,
        });
      }
      if (error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError)) {
        throw new RollgateError(ErrorCodes.timeout, `${this.service} service: ${subject} timed out`, {
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
      throw new RollgateError(ErrorCodes.internal, `${this.service} service: reply on ${subject} is not JSON`, { cause });
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
