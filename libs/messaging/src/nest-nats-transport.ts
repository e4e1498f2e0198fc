import { nuid, type Msg } from '@nats-io/nats-core';
import {
  type ConsumerDeserializer,
  type IncomingEvent,
  type IncomingRequest,
  type NatsOptions,
  type Serializer,
  Transport,
} from '@nestjs/microservices';
import { ErrorCodes, errorReply, okReply, type Reply } from '#rollgate/contracts';
import type { NatsLogin } from './nats-login.js';

/**
 * Lets Nest's built-in NATS server speak raw envelopes: the request body is the CommandEnvelope itself
 * (any NATS client or CLI can send it) and the reply body is the `Reply` itself.
 *
 * Nest's default deserializer treats JSON with a top-level `data`/`pattern` as its own packet and JSON without
 * an `id` as a fire-and-forget event (no reply at all), so a plain `nats req` would time out. Here every message
 * that carries a reply subject is a request, keyed by a fresh id; messages without one are events.
 */
export class RawEnvelopeDeserializer implements ConsumerDeserializer {
  deserialize(msg: Msg, options?: Record<string, unknown>): IncomingRequest | IncomingEvent {
    const pattern = (options?.['channel'] as string | undefined) ?? msg.subject;
    let data: unknown;
    try {
      data = msg.data.length === 0 ? undefined : msg.json();
    } catch {
      // Not JSON: hand the text to the handler; its validation replies GENERIC.VALIDATION.
      data = msg.string();
    }
    return msg.reply ? { pattern, data, id: nuid.next() } : { pattern, data };
  }
}

interface NestResponsePacket {
  response?: unknown;
  err?: unknown;
  isDisposed?: boolean;
  status?: string;
}

/**
 * Turns Nest's `{ response, isDisposed, id }` / `{ err, … }` packet into the bare `Reply` JSON. A handler
 * that returns a Reply is sent as-is; any other value becomes `{ ok: true, result }`; a thrown error with a
 * `code` becomes `{ ok: false, error: { code, message, details } }`, anything else GENERIC.INTERNAL.
 * Only the first packet reaches a requester, so handlers return one value (a Promise), not a stream.
 */
export class RawReplySerializer implements Serializer<NestResponsePacket, { data: string }> {
  serialize(packet: NestResponsePacket): { data: string } {
    return { data: JSON.stringify(toReply(packet)) };
  }
}

function toReply(packet: NestResponsePacket): Reply {
  if (packet.err !== undefined) return errorToReply(packet.err);
  const response = packet.response;
  if (isReplyShape(response)) return response;
  return okReply(response ?? null);
}

function isReplyShape(v: unknown): v is Reply {
  return typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean' &&
    ('result' in v || 'error' in v);
}

function errorToReply(err: unknown): Reply {
  if (isReplyShape(err) && !err.ok) return err;
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; details?: unknown; error?: unknown };
    // RpcException filters wrap the payload as { status: 'error', message } or pass the error object through.
    if (typeof e.code === 'string' && e.code.includes('.')) {
      return errorReply({
        code: e.code,
        message: typeof e.message === 'string' ? e.message : e.code,
        ...(e.details === undefined ? {} : { details: e.details }),
      });
    }
    if (typeof e.error === 'object' && e.error !== null) return errorToReply(e.error);
  }
  return errorReply({ code: ErrorCodes.internal, message: 'internal error' });
}

export interface NatsMicroserviceConfig {
  servers: string | string[];
  name: string;
  /** Default queue group for every handler (also settable per handler: `@MessagePattern(s, { queue })`). */
  queue?: string;
  /** How long in-flight commands get on shutdown after unsubscribing. */
  gracePeriodMs?: number;
  /** User, password and inbox prefix (see natsLogin). */
  login?: NatsLogin;
}

/** Options for `app.connectMicroservice(...)`: Nest's NATS transport speaking raw envelopes and Replies. */
export function natsMicroserviceOptions(config: NatsMicroserviceConfig): NatsOptions {
  return {
    transport: Transport.NATS,
    options: {
      ...config.login,
      servers: config.servers,
      name: config.name,
      ...(config.queue === undefined ? {} : { queue: config.queue }),
      serializer: new RawReplySerializer(),
      deserializer: new RawEnvelopeDeserializer(),
      gracefulShutdown: true,
      gracePeriod: config.gracePeriodMs ?? 2000,
    },
  };
}
