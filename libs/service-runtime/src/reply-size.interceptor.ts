import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { map, type Observable } from 'rxjs';
import { ErrorCodes } from '#rollgate/contracts';
import { NATS_CONNECTION } from '#rollgate/messaging';
import { RollgateError } from '#rollgate/platform';

/** Room for the Reply wrapper (`{"ok":true,"result":…}`) and the reply's headers. */
const REPLY_ALLOWANCE = 8 * 1024;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * A bus reply the NATS server would refuse (over its max_payload) never leaves: NATS would drop it and the caller
 * would wait for its timeout. It becomes a GENERIC.PAYLOAD_TOO_LARGE error reply instead, which names the size, so
 * the caller learns to page (snapshot `paged`, `segment-members`) or to narrow the query.
 */
@Injectable()
export class ReplySizeInterceptor implements NestInterceptor {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  /** What a reply's result may take: the server's max_payload less the allowance. */
  maxReplyBytes(): number {
    return (this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - REPLY_ALLOWANCE;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const subject = String(context.switchToRpc().getContext<{ getSubject?: () => string }>().getSubject?.() ?? 'the request');
    return next.handle().pipe(
      map((result: unknown) => {
        const bytes = Buffer.byteLength(JSON.stringify(result ?? null));
        const maxBytes = this.maxReplyBytes();
        if (bytes > maxBytes) {
          throw new RollgateError(ErrorCodes.payloadTooLarge, `the reply to ${subject} would be ${bytes} bytes, over the bus's ${maxBytes}; page or narrow the query`, {
            details: { subject, bytes, maxBytes },
          });
        }
        return result;
      }),
    );
  }
}
