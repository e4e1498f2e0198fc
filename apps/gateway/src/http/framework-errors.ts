import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, type ErrorBody } from '#rollgate/contracts';
import { RollgateError, ValidationError, toErrorResponse } from '#rollgate/platform';

/**
 * What Fastify and Node answer before Nest sees a request, in the API's `{ code, message, details }` shape
 * instead of theirs (`{ error, message, statusCode }`).
 */

/** Fastify's router errors: a path parameter over maxParamLength (414), a malformed URL (400). */
export const frameworkErrors = (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void => {
  const exception =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new RollgateError(ErrorCodes.uriTooLong, 'A path parameter is too long')
      : error.code === 'FST_ERR_BAD_URL'
        ? ValidationError.of([{ path: 'url', message: 'is not a valid URL' }], 'Malformed URL')
        : error;
  const { status, body } = toErrorResponse(exception);
  void reply.code(status).type('application/json').send(body);
};

/** Node's connection-level errors (a request line plus headers over maxHeaderSize → 431, a timeout → 408). */
export const clientErrorHandler = (error: NodeJS.ErrnoException, socket: Socket): void => {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let body: ErrorBody = { code: ErrorCodes.badRequest, message: 'Malformed HTTP request' };
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    body = { code: ErrorCodes.headersTooLarge, message: 'The request line and headers exceed the maximum size' };
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    body = { code: ErrorCodes.timeout, message: 'The request took too long to arrive' };
  }
  if (socket.writable) {
    const json = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(error);
};
