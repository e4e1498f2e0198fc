/** What every command carries over the bus: the id makes it idempotent, the actor lands in event metadata. */
export interface CommandEnvelope<Payload = unknown> {
  commandId: string;
  actor: string;
  reason?: string;
  correlationId?: string;
  /**
   * The caller's own fingerprint of the request behind the command id (the gateway hashes method, path and body as
   * sent, so a retry matches even when it fills in server-side values such as a ramp's start). Absent: the command
   * core fingerprints the command itself.
   */
  requestHash?: string;
  payload: Payload;
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export type Reply<Result = unknown> = { ok: true; result: Result } | { ok: false; error: ErrorBody };

export const okReply = <Result>(result: Result): Reply<Result> => ({ ok: true, result });
export const errorReply = (error: ErrorBody): Reply<never> => ({ ok: false, error });
