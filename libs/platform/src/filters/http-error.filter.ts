import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from '../errors/error-response.js';
import { correlationIdOf } from '../logging/correlation-id.hooks.js';
import { currentCorrelationId } from '../logging/correlation.js';

/**
 * Global HTTP filter (Fastify): every error leaves as `{ code, message, details }` with the status its code maps
 * to. Unknown errors are logged with the correlation id and answered 500 `GENERIC.INTERNAL` without their message.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { status, body, unexpected } = toErrorResponse(exception);
    if (unexpected) {
      this.logger.error({
        msg: 'Unhandled error',
        correlationId: currentCorrelationId() ?? correlationIdOf(request),
        method: request.method,
        url: request.url,
        err: exception,
      });
    }
    if (reply.sent) return;
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
