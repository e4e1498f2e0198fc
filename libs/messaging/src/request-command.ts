import { headers as natsHeaders, NoRespondersError, RequestError, TimeoutError } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/nats-core';
import { CORRELATION_HEADER, ErrorCodes, type CommandEnvelope, type Reply } from '#rollgate/contracts';
import { MessagingError, RequestFailedError } from './messaging.errors.js';

export interface RequestCommandOptions {
  /** Every call has a deadline: a hung handler must not hang the caller (research P13). */
  timeoutMs: number;
  /** Defaults to the envelope's correlationId, then its commandId. */
  correlationId?: string;
}

/**
 * Sends a command envelope as plain JSON over core request-reply and returns the parsed `Reply`.
 * The wire is the raw envelope both ways (no Nest packet), so `nats req rg.cmd.… '{…}'` works the same.
 * Bus failures throw `RequestFailedError` (`GENERIC.UNAVAILABLE` for no responders, `GENERIC.TIMEOUT`);
 * a handler's error comes back as an `{ ok: false }` reply, not as a throw.
 */
export async function requestCommand<Result = unknown, Payload = unknown>(
  nc: NatsConnection,
  subject: string,
  envelope: CommandEnvelope<Payload>,
  options: RequestCommandOptions,
): Promise<Reply<Result>> {
  const correlationId = options.correlationId ?? envelope.correlationId ?? envelope.commandId;
  const h = natsHeaders();
  h.set(CORRELATION_HEADER, correlationId);
  const body = JSON.stringify({ ...envelope, correlationId });
  let data: Uint8Array;
  try {
    const msg = await nc.request(subject, body, { timeout: options.timeoutMs, headers: h });
    data = msg.data;
  } catch (err) {
    throw mapRequestError(subject, err);
  }
  return parseReply<Result>(subject, data);
}

/**
 * Sends a query (`rg.qry.<service>.<noun>`: the body is the query object itself, no envelope) and returns the
 * parsed `Reply`, with the bus failures of `requestCommand`.
 */
export async function requestQuery<Result = unknown>(
  nc: NatsConnection,
  subject: string,
  query: object,
  options: RequestCommandOptions,
): Promise<Reply<Result>> {
  const h = natsHeaders();
  if (options.correlationId !== undefined) h.set(CORRELATION_HEADER, options.correlationId);
  let data: Uint8Array;
  try {
    data = (await nc.request(subject, JSON.stringify(query), { timeout: options.timeoutMs, headers: h })).data;
  } catch (err) {
    throw mapRequestError(subject, err);
  }
  return parseReply<Result>(subject, data);
}

function mapRequestError(subject: string, err: unknown): unknown {
  if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
    return new RequestFailedError(ErrorCodes.unavailable, subject, err);
  }
  if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
    return new RequestFailedError(ErrorCodes.timeout, subject, err);
  }
  return err;
}

function parseReply<Result>(subject: string, data: Uint8Array): Reply<Result> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch (cause) {
    throw new MessagingError(ErrorCodes.internal, `reply on ${subject} is not JSON`, { cause });
  }
  if (isReply(parsed)) return parsed as Reply<Result>;
  throw new MessagingError(ErrorCodes.internal, `reply on ${subject} is not a Reply`, { details: parsed });
}

function isReply(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || typeof (v as { ok?: unknown }).ok !== 'boolean') return false;
  const r = v as { ok: boolean; error?: { code?: unknown; message?: unknown } };
  return r.ok || (typeof r.error?.code === 'string' && typeof r.error.message === 'string');
}
