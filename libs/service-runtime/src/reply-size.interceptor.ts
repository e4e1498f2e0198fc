import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { ErrorCodes } from '#rollgate/contracts';
import { RollgateError } from '#rollgate/platform';

/** Room for the Reply wrapper (`{"ok":true,"result":…}`) and the reply's headers. */
const REPLY_ALLOWANCE = 8 * 1024;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** What a reply's result may take on a connection: the server's max_payload less the allowance. */
export const maxReplyBytes = (nc: { info?: { max_payload?: number } }): number => (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - REPLY_ALLOWANCE;

/**
 * A bus reply the NATS server would refuse (over its max_payload) never leaves: NATS would drop it and the caller
 * would wait for its timeout. It becomes a GENERIC.PAYLOAD_TOO_LARGE error reply instead, which names the size, so
 * the caller learns to page (snapshot `paged`, `segment-members`) or to narrow the query.
 */
@Injectable()
export class ReplySizeInterceptor implements NestInterceptor {
  /** `maxBytes`: the most a reply's result may take (`maxReplyBytes` of the service's connection). */
  constructor(private readonly maxBytes: () => number) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const subject = String(context.switchToRpc().getContext<{ getSubject?: () => string }>().getSubject?.() ?? 'the request');
    return next.handle().pipe(
      map((result: unknown) => {
        const bytes = Buffer.byteLength(JSON.stringify(result ?? null));
        const maxBytes = this.maxBytes();
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
