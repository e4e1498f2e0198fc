import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { CORRELATION_HEADER, ErrorCodes, type Reply } from '#rollgate/contracts';
import { MessagingError, requestCommand } from '#rollgate/messaging';
import { RollgateError } from '#rollgate/platform';
import type { CommandOrigin } from '#rollgate/commands';

/**
 * The canary's requests to other services: a command envelope (the messaging lib's requestCommand) or a raw query
 * object, both with a deadline; an error reply becomes a RollgateError with the other service's code, a bus failure
 * one with GENERIC.UNAVAILABLE or GENERIC.TIMEOUT.
 */
export class BusRequests {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {}

  async command<Result>(subject: string, payload: object, origin: CommandOrigin): Promise<Result> {
    let reply: Reply<Result>;
    try {
      reply = await requestCommand<Result>(
        this.nc,
        subject,
        {
          commandId: origin.commandId,
          actor: origin.actor,
          ...(origin.reason === undefined ? {} : { reason: origin.reason }),
          ...(origin.correlationId === undefined ? {} : { correlationId: origin.correlationId }),
          payload,
        },
        { timeoutMs: this.timeoutMs },
      );
    } catch (error) {
      if (error instanceof MessagingError)
        throw new RollgateError(error.code, error.message, { details: { subject }, cause: error });
      throw error;
    }
    if (!reply.ok) throw RollgateError.fromBody(reply.error);
    return reply.result;
  }

  async query<Result>(subject: string, query: object, correlationId?: string): Promise<Result> {
    const h = natsHeaders();
    if (correlationId !== undefined) h.set(CORRELATION_HEADER, correlationId);
    let text: string;
    try {
      text = (await this.nc.request(subject, JSON.stringify(query), { timeout: this.timeoutMs, headers: h })).string();
    } catch (error) {
      const noResponders =
        (error as { isNoResponders?: () => boolean }).isNoResponders?.() === true ||
        (error as Error).name === 'NoRespondersError';
      throw new RollgateError(
        noResponders ? ErrorCodes.unavailable : ErrorCodes.timeout,
        `${subject}: ${(error as Error).message}`,
        {
          details: { subject },
          cause: error,
        },
      );
    }
    const reply = JSON.parse(text) as Reply<Result>;
    if (!reply.ok) throw RollgateError.fromBody(reply.error);
    return reply.result;
  }
}

/** Bus failures (no responders, timeout) and unexpected errors are worth retrying; a service's refusal is not. */
export const isTransient = (error: unknown): boolean => {
  if (!(error instanceof RollgateError)) return true;
  return error.code === ErrorCodes.unavailable || error.code === ErrorCodes.timeout;
};
