import { createHash, randomUUID } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ValidationError, correlationIdOf, currentCorrelationId } from '#rollgate/platform';
import type { AuthenticatedRequest } from '../auth/roles.decorator.js';

/** What every command sent on behalf of an HTTP request carries besides its payload. */
export interface CommandContext {
  /** `Idempotency-Key`, else a fresh uuid. */
  commandId: string;
  /** The principal's id. */
  actor: string;
  /** `X-Rollgate-Reason` (a body `reason` wins). */
  reason?: string;
  /** From `If-Match`. */
  expectedVersion?: number;
  correlationId?: string;
  /** Method, URL and body as sent: what an Idempotency-Key is bound to (a retry of the same request matches). */
  requestHash?: string;
}

type Headers = Record<string, string | string[] | undefined>;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
const ETAG_VERSION = /^(?:W\/)?"?(\d{1,15})"?$/;
const MAX_REASON = 1_000;

const single = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  if (Array.isArray(value)) throw ValidationError.of([{ path: name, message: 'must be sent once' }], `${name} must be sent once`);
  return value;
};

const invalid = (header: string, message: string): ValidationError =>
  ValidationError.of([{ path: header, message }], `${header} ${message}`);

/** Parses the command headers; malformed ones are a 400, never ignored. */
export const commandContextFrom = (headers: Headers, actor: string, correlationId?: string): CommandContext => {
  const idempotencyKey = single(headers, 'idempotency-key');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw invalid('Idempotency-Key', 'must be 1-200 printable ASCII characters');
  }
  const context: CommandContext = { commandId: idempotencyKey ?? randomUUID(), actor };
  const ifMatch = single(headers, 'if-match')?.trim();
  if (ifMatch !== undefined && ifMatch !== '*') {
    const match = ETAG_VERSION.exec(ifMatch);
    if (match === null) throw invalid('If-Match', 'must be a flag version, e.g. "3"');
    context.expectedVersion = Number(match[1]);
  }
  const reason = single(headers, 'x-rollgate-reason');
  if (reason !== undefined) {
    if (reason.length > MAX_REASON) throw invalid('X-Rollgate-Reason', `must be at most ${MAX_REASON} characters`);
    context.reason = reason;
  }
  if (correlationId !== undefined) context.correlationId = correlationId;
  return context;
};

/** sha256 over method, URL and the parsed body (a retry sends the same bytes, so the same JSON). */
export const requestHashOf = (method: string, url: string, body: unknown): string =>
  `http-sha256:${createHash('sha256').update(`${method} ${url}\n`).update(JSON.stringify(body ?? null)).digest('hex')}`;

/** `@Command() ctx: CommandContext` in a controller: headers + principal + correlation id of this request. */
export const Command = createParamDecorator((_: unknown, ctx: ExecutionContext): CommandContext => {
  const request = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  if (request.principal === undefined) throw new Error('@Command() on a route the AuthGuard did not authenticate');
  const context = commandContextFrom(request.headers, request.principal.id, currentCorrelationId() ?? correlationIdOf(request));
  return { ...context, requestHash: requestHashOf(request.method, request.url, request.body) };
});

/** A body `reason` overrides the header's. */
export const withReason = (context: CommandContext, reason: string | undefined): CommandContext =>
  reason === undefined ? context : { ...context, reason };
