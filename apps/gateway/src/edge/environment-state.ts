import type { EvaluationContext, EvaluationResult, JsonValue } from '#rollgate/evaluation';
import type { RollgateClient } from '#rollgate/sdk';
import { buildPayload, type EnvironmentPayload } from './environment-payload.js';

/** A flag version a read must see (`Rollgate-Read-After: <key>@<version>`, or a write through this gateway). */
export interface FlagVersion {
  key: string;
  version: number;
}

const CATCH_UP_POLL_MS = 5;

/**
 * One environment as this gateway serves it: an SDK client (snapshot, ordered events, gap detection,
 * re-snapshot) evaluating in process, and the environment payload serialized once per change of the flags.
 */
export class EnvironmentState {
  private payloadValue: EnvironmentPayload | null = null;
  private stale = true;
  private readonly unsubscribe: () => void;
  lastUsedAt = Date.now();

  constructor(readonly client: RollgateClient) {
    // Any change, snapshot or reload may change what is served: the payload is rebuilt on its next read.
    this.unsubscribe = client.on('change', () => (this.stale = true));
  }

  get environment(): string {
    return this.client.environment;
  }

  get ready(): Promise<void> {
    return this.client.ready;
  }

  /** The payload as of now; the same bytes (and ETag) until the flags change. */
  payload(): EnvironmentPayload {
    if (!this.stale && this.payloadValue !== null) return this.payloadValue;
    this.stale = false;
    const next = buildPayload(this.client.snapshot());
    // A rebuild with the same flags (a reload, a change elsewhere) keeps the old bytes: ETag and position stay.
    this.payloadValue = this.payloadValue !== null && this.payloadValue.etag === next.etag ? this.payloadValue : next;
    return this.payloadValue;
  }

  evaluate(key: string, context: EvaluationContext, defaultValue?: JsonValue): EvaluationResult<JsonValue> {
    return this.client.evaluate(key, context, defaultValue as JsonValue);
  }

  /** Whether every named flag is here at that version or later. */
  hasReached(versions: readonly FlagVersion[]): boolean {
    return versions.every(({ key, version }) => (this.client.getFlag(key)?.version ?? 0) >= version);
  }

  /** Resolves true once `hasReached`, false after `timeoutMs`. */
  async waitFor(versions: readonly FlagVersion[], timeoutMs: number): Promise<boolean> {
    if (this.hasReached(versions)) return true;
    const deadline = Date.now() + timeoutMs;
    while (!this.hasReached(versions)) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS));
    }
    return true;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.client.close();
  }
}
