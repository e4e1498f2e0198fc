import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { JetStreamApiError, JetStreamApiCodes } from '@nats-io/jetstream';
import { eventStreamName, type ServiceName } from '#rollgate/contracts';

/** Where a service's events live on the bus. Tests override both with unique names. */
export interface EventStreamTarget {
  /** JetStream stream name, `RG_EVT_<SERVICE>` by default. */
  stream: string;
  /** Subject root before `<service>.`; `rg.evt` by default. */
  subjectRoot: string;
  service: ServiceName;
}

export const DEFAULT_SUBJECT_ROOT = 'rg.evt';

export function eventStreamTarget(
  service: ServiceName,
  overrides: { stream?: string; subjectRoot?: string } = {},
): EventStreamTarget {
  return {
    service,
    stream: overrides.stream ?? eventStreamName(service),
    subjectRoot: overrides.subjectRoot ?? DEFAULT_SUBJECT_ROOT,
  };
}

/** `<root>.<service>.>`: the single filter the stream captures (one filter per consumer on 2.9). */
export const streamFilter = (t: EventStreamTarget): string => `${t.subjectRoot}.${t.service}.>`;

export interface EnsureEventStreamOptions {
  /** Dedupe window for `Nats-Msg-Id`; 2 min by default (research P9). */
  duplicateWindowMs?: number;
  /**
   * Copies JetStream keeps of the stream: 1 on a single server, 3 (or 5) on a cluster so the stream survives the
   * loss of a node. An existing stream is updated to it (2.9 moves replicas on update).
   */
  replicas?: number;
}

/**
 * Creates or updates the service's event stream with the 2.9-safe config (research §4.2): file storage,
 * limits retention, deny delete/purge, no 2.10+ options. Idempotent; an update only touches mutable fields.
 */
export async function ensureEventStream(
  jsm: JetStreamManager,
  target: EventStreamTarget,
  options: EnsureEventStreamOptions = {},
): Promise<StreamInfo> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: target.stream,
    subjects: [streamFilter(target)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: 0,
    duplicate_window: (options.duplicateWindowMs ?? 120_000) * 1_000_000,
    allow_rollup_hdrs: false,
    deny_delete: true,
    deny_purge: true,
    num_replicas: options.replicas ?? 1,
  };
  try {
    const existing = await jsm.streams.info(target.stream);
    const { name: _name, storage: _storage, retention: _retention, ...mutable } = config;
    return await jsm.streams.update(target.stream, { ...existing.config, ...mutable });
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
      return jsm.streams.add(config);
    }
    throw err;
  }
}
