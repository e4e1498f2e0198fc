import { Catch, Logger, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { of, type Observable } from 'rxjs';
import { errorReply, type Reply } from '#rollgate/contracts';
import { toErrorResponse } from '../errors/error-response.js';
import { currentCorrelationId } from '../logging/correlation.js';

/**
 * Filter for `@MessagePattern` handlers: any thrown error becomes the normal reply
 * `{ ok: false, error: { code, message, details } }`, so callers switch on a code instead of parsing Nest's
 * `{ status: 'error', message }`. Unknown errors are logged with the correlation id and not described.
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger(RpcErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): Observable<Reply<never>> {
    const { body, unexpected } = toErrorResponse(exception);
    if (unexpected) {
      const rpc = host.switchToRpc();
      const context: unknown = rpc.getContext();
      const subject =
        typeof context === 'object' && context !== null && 'getSubject' in context && typeof context.getSubject === 'function'
          ? (context.getSubject as () => unknown)()
          : undefined;
      this.logger.error({ msg: 'Unhandled error', correlationId: currentCorrelationId(), subject, err: exception });
    }
    return of(errorReply(body));
  }
}
