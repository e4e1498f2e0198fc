import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext as OfContext,
  type JsonValue as OfJsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { toOpenFeatureResolution, type EvaluationContext, type EvaluationResult, type JsonValue } from '#rollgate/evaluation';
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
    return toResolution(flagKey, result, defaultValue, client.environment);
  }
}

function toRollgateContext(context: OfContext): EvaluationContext {
  if (context.targetingKey === undefined || context['userId'] !== undefined) return context as EvaluationContext;
  return { ...context, userId: context.targetingKey };
}

/** OpenFeature's ResolutionDetails from the shared mapping (the gateway's OFREP answers with the same one). */
function toResolution<T extends JsonValue>(flagKey: string, result: EvaluationResult<T>, defaultValue: T, environment: string): ResolutionDetails<T> {
  const resolution = toOpenFeatureResolution(result, defaultValue, flagKey);
  const details: ResolutionDetails<T> = { value: resolution.value, reason: resolution.reason, flagMetadata: resolution.flagMetadata };
  if (resolution.variant !== undefined) details.variant = resolution.variant;
  if (resolution.errorCode !== undefined) {
    details.errorCode = resolution.errorCode as ErrorCode;
    details.errorMessage = `${resolution.errorMessage} (environment ${environment})`;
  }
  return details;
}
