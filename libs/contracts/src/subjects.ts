import { KEY_PATTERN } from './keys.js';

/**
 * Every NATS subject Rollgate uses. `rg.evt.*` belongs to JetStream only; `rg.cmd.*` and `rg.qry.*` to core
 * request-reply. Never bind a core handler on `rg.evt.*` (Nest unwraps foreign JSON there).
 */
export const SERVICES = ['flags', 'canary', 'rollback'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Subject tokens: lower-case keys without dots, so a flag key is one token. */
export const SUBJECT_TOKEN: RegExp = KEY_PATTERN;
export const EVENT_TYPE_TOKEN = /^[A-Z][A-Za-z0-9]*$/;

export const subjects = {
  /** `rg.evt.<service>.<aggregate>.<id>.<EventType>` */
  event: (service: ServiceName, aggregate: string, id: string, eventType: string): string =>
    `rg.evt.${service}.${aggregate}.${id}.${eventType}`,
  /** Everything one service publishes, the single filter its JetStream stream captures. */
  serviceEvents: (service: ServiceName): string => `rg.evt.${service}.>`,
  command: (service: ServiceName, verb: string): string => `rg.cmd.${service}.${verb}`,
  query: (service: ServiceName, noun: string): string => `rg.qry.${service}.${noun}`,
  outcomes: (environment: string, flagKey: string): string => `rg.obs.${environment}.${flagKey}`,
  allOutcomes: 'rg.obs.>',
  sdkStatus: (environment: string): string => `rg.sdk.${environment}.status`,
} as const;

/** `RG_EVT_FLAGS` for `flags`: one JetStream stream per producing service. */
export const eventStreamName = (service: ServiceName): string => `RG_EVT_${service.toUpperCase()}`;

/** Queue group shared by every replica of a service, so each command is handled once. */
export const queueGroup = (service: ServiceName): string => `${service}-svc`;

/** Headers the publisher puts on every JetStream event message (never the reserved `Nats-` prefix). */
export const EVENT_HEADERS = {
  eventType: 'Rg-Event-Type',
  schemaVersion: 'Rg-Schema-Version',
  streamId: 'Rg-Stream-Id',
  streamVersion: 'Rg-Stream-Version',
  transactionId: 'Rg-Tx',
  globalPosition: 'Rg-Global-Position',
  recordedAt: 'Rg-Recorded-At',
  correlationId: 'Rg-Correlation-Id',
  causationId: 'Rg-Causation-Id',
} as const;

export const CORRELATION_HEADER = 'Rg-Correlation-Id';
