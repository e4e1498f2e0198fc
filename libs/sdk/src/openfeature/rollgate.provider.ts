import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext as OfContext,
  type FlagMetadata,
  type JsonValue as OfJsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { EvaluationContext, EvaluationResult, JsonValue } from '#rollgate/evaluation';
import { RollgateClient, type RollgateClientOptions } from '../rollgate.client.js';

/**
 * OpenFeature server provider over a RollgateClient: resolution is the client's local evaluation (no I/O), the
 * context's `targetingKey` stands in for `userId` when that is absent, and engine reasons and error codes are
 * OpenFeature's own. Flag changes become `PROVIDER_CONFIGURATION_CHANGED` with `flagsChanged`; a client gone
 * stale emits `PROVIDER_STALE`, and `PROVIDER_READY` once it is current again.
 */
export class RollgateProvider implements Provider {
  readonly metadata = { name: 'rollgate' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private clientValue: RollgateClient | null;
  private readonly owned: boolean;
  private readonly unsubscribe: Array<() => void> = [];

  /** Pass a client you manage, or client options: the provider then creates the client and closes it on close. */
  constructor(source: RollgateClient | RollgateClientOptions) {
    this.owned = !(source instanceof RollgateClient);
    this.clientValue = source instanceof RollgateClient ? source : null;
    if (!this.owned) this.watch(this.clientValue!);
    else this.options = source as RollgateClientOptions;
  }

  private options: RollgateClientOptions | null = null;

  get client(): RollgateClient {
    if (this.clientValue === null) throw new Error('RollgateProvider is not initialized');
    return this.clientValue;
  }

  async initialize(): Promise<void> {
    if (this.clientValue === null) {
      this.clientValue = await RollgateClient.connect(this.options!);
      this.watch(this.clientValue);
    }
    await this.clientValue.ready;
  }

  async onClose(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.owned) await this.clientValue?.close();
  }

  private watch(client: RollgateClient): void {
    this.unsubscribe.push(
      client.on('change', (change) => {
        this.events.emit(ProviderEvents.ConfigurationChanged, {
          flagsChanged: [change.key],
          metadata: { version: change.newVersion ?? -1, cause: change.cause.eventType },
        });
      }),
      client.on('status', (status) => {
        if (status.status === 'stale') this.events.emit(ProviderEvents.Stale, { message: 'no connection to NATS for longer than staleAfterMs' });
        else if (status.status === 'ready' || (status.status === 'connected' && !client.isStale)) this.events.emit(ProviderEvents.Ready);
      }),
    );
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: OfContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: OfContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: OfContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context));
  }

  resolveObjectEvaluation<T extends OfJsonValue>(flagKey: string, defaultValue: T, context: OfContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue as JsonValue, context) as ResolutionDetails<T>);
  }

  /** The synchronous resolution behind the four methods (exported for benchmarks). */
  resolve<T extends JsonValue>(flagKey: string, defaultValue: T, context: OfContext): ResolutionDetails<T> {
    const client = this.clientValue;
    if (client === null || !client.isReady) {
      return { value: defaultValue, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_NOT_READY, errorMessage: 'Rollgate client not ready' };
    }
    const result = client.evaluate(flagKey, toRollgateContext(context), defaultValue);
    return toResolution(flagKey, result, client.environment);
  }
}

function toRollgateContext(context: OfContext): EvaluationContext {
  if (context.targetingKey === undefined || context['userId'] !== undefined) return context as EvaluationContext;
  return { ...context, userId: context.targetingKey };
}

const ERROR_CODES: Record<NonNullable<EvaluationResult['errorCode']>, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  INVALID_CONTEXT: ErrorCode.INVALID_CONTEXT,
  TARGETING_KEY_MISSING: ErrorCode.TARGETING_KEY_MISSING,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  GENERAL: ErrorCode.GENERAL,
};

function toResolution<T>(flagKey: string, result: EvaluationResult<T>, environment: string): ResolutionDetails<T> {
  if (result.errorCode !== undefined) {
    return {
      value: result.value,
      reason: 'ERROR',
      errorCode: ERROR_CODES[result.errorCode] ?? ErrorCode.GENERAL,
      errorMessage: `${result.errorCode}: ${flagKey} in ${environment}`,
    };
  }
  const flagMetadata: FlagMetadata = { environment };
  if (result.flagVersion !== undefined) flagMetadata['version'] = result.flagVersion;
  if (result.ruleId !== undefined) flagMetadata['ruleId'] = result.ruleId;
  return { value: result.value, variant: result.variant, reason: result.reason, flagMetadata };
}
