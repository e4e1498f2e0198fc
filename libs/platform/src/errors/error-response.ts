import { HttpException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { ErrorCodes, type ErrorBody } from '#rollgate/contracts';
import { httpStatusOf } from './http-status.js';
import { RollgateError, isErrorBody, validationDetails } from './rollgate.error.js';

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** Not a RollgateError nor a client error: log it with the correlation id; its message stays inside. */
  unexpected: boolean;
}

const INTERNAL: ErrorBody = { code: ErrorCodes.internal, message: 'Internal error' };

// Nest and Fastify raise HttpExceptions for what happens before our code runs (unknown route, body too large,
// malformed JSON); their status is kept and given a code.
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: ErrorCodes.validation,
  401: ErrorCodes.unauthorized,
  403: ErrorCodes.forbidden,
  404: ErrorCodes.notFound,
  408: ErrorCodes.timeout,
  409: ErrorCodes.conflict,
  413: ErrorCodes.payloadTooLarge,
  414: ErrorCodes.uriTooLong,
  415: ErrorCodes.unsupportedMediaType,
  429: ErrorCodes.rateLimited,
  431: ErrorCodes.headersTooLarge,
  503: ErrorCodes.unavailable,
  504: ErrorCodes.timeout,
};

const fromHttpException = (exception: HttpException): ErrorResponse => {
  const status = exception.getStatus();
  if (status >= 500 && status !== 503 && status !== 504) {
    return { status: 500, body: INTERNAL, unexpected: true };
  }
  const code = CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCodes.internal : ErrorCodes.badRequest);
  const response = exception.getResponse();
  // Nest's own ValidationPipe puts the class-validator messages in `message` as a list: they become problems
  // without a path, so every validation error keeps the one `{ problems }` shape.
  const messages =
    typeof response === 'object' && response !== null && Array.isArray((response as { message?: unknown }).message)
      ? ((response as { message: unknown[] }).message as unknown[])
      : undefined;
  const body: ErrorBody = messages
    ? { code, message: 'Validation failed', details: validationDetails(messages.map((m) => ({ path: '', message: String(m) }))) }
    : { code, message: exception.message };
  return { status, body, unexpected: false };
};

/** Maps anything thrown to the status and `{ code, message, details }` both filters send. */
export const toErrorResponse = (exception: unknown): ErrorResponse => {
  if (exception instanceof RollgateError) {
    const status = httpStatusOf(exception.code);
    return { status, body: exception.toJSON(), unexpected: status === 500 };
  }
  if (exception instanceof HttpException) return fromHttpException(exception);
  if (exception instanceof RpcException && isErrorBody(exception.getError())) {
    return toErrorResponse(RollgateError.fromBody(exception.getError()));
  }
  return { status: 500, body: INTERNAL, unexpected: true };
};
