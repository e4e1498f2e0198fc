import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { CORRELATION_HEADER } from '#rollgate/contracts';
import { acceptCorrelationId, runWithCorrelationId } from '#rollgate/platform';

/**
 * Runs each NATS handler under the request's correlation id: the `Rg-Correlation-Id` header, else the envelope's
 * `correlationId`, else a fresh one. Logs and event metadata then carry it.
 */
@Injectable()
export class NatsCorrelationInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const rpc = context.switchToRpc();
    const ctx = rpc.getContext() as { getHeaders?: () => { get(name: string): string } | undefined };
    const fromHeader = ctx.getHeaders?.()?.get(CORRELATION_HEADER);
    const data = rpc.getData() as { correlationId?: unknown } | undefined;
    const id = acceptCorrelationId(fromHeader || (typeof data === 'object' && data !== null ? data.correlationId : undefined));
    return new Observable((subscriber) => runWithCorrelationId(id, () => next.handle().subscribe(subscriber)));
  }
}
