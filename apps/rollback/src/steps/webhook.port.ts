import { createHmac } from 'node:crypto';
import { RollbackErrorCodes } from '../rollback.errors.js';
import { StepFailure } from './step.failure.js';
import type { WebhookOperation } from './step-operations.js';

export const SIGNATURE_HEADER = 'rollgate-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it and rejects old timestamps. */
export const signatureOf = (secret: string, timestamp: number, body: string): string =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

/**
 * One delivery attempt of a webhook step. The saga's attempts are the bounded retries (each an event, with backoff
 * between them); every attempt carries the step's one Idempotency-Key, so a receiver that dedupes on it acts once
 * however often a crash or a lost answer makes us send again.
 */
export class WebhookPort {
  constructor(
    private readonly secret: string | undefined,
    private readonly clock: () => number = Date.now,
  ) {}

  async deliver(op: WebhookOperation, signal?: AbortSignal): Promise<{ status: number; attemptedAt: string }> {
    const body = JSON.stringify(op.body);
    const headers: Record<string, string> = { 'content-type': 'application/json', [IDEMPOTENCY_HEADER]: op.idempotencyKey, 'user-agent': 'rollgate-rollback' };
    if (this.secret !== undefined) headers[SIGNATURE_HEADER] = signatureOf(this.secret, Math.floor(this.clock() / 1_000), body);
    const attemptedAt = new Date(this.clock()).toISOString();
    let response: Response;
    try {
      const timeout = AbortSignal.timeout(op.timeoutMs);
      response = await fetch(op.url, { method: 'POST', headers, body, signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]), redirect: 'manual' });
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      throw new StepFailure({ code: RollbackErrorCodes.webhookFailed, message: `webhook ${op.url} unreachable: ${(error as Error).message}` }, true);
    }
    if (response.status >= 200 && response.status < 300) return { status: response.status, attemptedAt };
    const retryable = response.status === 408 || response.status === 409 || response.status === 425 || response.status === 429 || response.status >= 500;
    throw new StepFailure({ code: RollbackErrorCodes.webhookFailed, message: `webhook ${op.url} answered ${response.status}`, details: { status: response.status } }, retryable);
  }
}
