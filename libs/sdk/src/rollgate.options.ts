import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { OutcomeBatch } from '#rollgate/contracts';
import { SdkError } from './sdk.errors.js';

export interface RollgateLogger {
  warn(message: string, details?: Record<string, unknown>): void;
}

export interface RollgateClientOptions {
  /** The environment whose flags this client evaluates (`production`, `staging`...). */
  environment: string;
  /** NATS servers, e.g. `nats://127.0.0.1:4222`; ignored when `connection` is given. */
  servers?: string | string[];
  /**
   * The NATS login (the `sdk` user of deploy/nats/rollgate.conf, from your configuration). Ignored when
   * `connection` is given.
   */
  credentials?: { user: string; password: string };
  /** Reply inbox prefix; default `_INBOX_<user>`, the one inbox the user's permissions allow. */
  inboxPrefix?: string;
  /** An existing connection to share; the client never closes it. */
  connection?: NatsConnection;
  /** Identifies this client in outcome batches and status reports; default a random UUID. */
  clientId?: string;
  /** Timeout of one snapshot request (one page of a snapshot). Default 5 000 ms. */
  requestTimeoutMs?: number;
  /** The most one snapshot page holds (bytes); default the flags service's page size (512 KiB). */
  snapshotPageBytes?: number;
  /** `RollgateClient.connect` gives up (and closes the client) after this long without a first load. Default 15 000 ms. */
  readyTimeoutMs?: number;
  /** After this long without a connection, results carry reason STALE. Default 30 000 ms. */
  staleAfterMs?: number;
  /** Optional path of a snapshot file kept for cold starts while NATS is unreachable. */
  snapshotFile?: string;
  /** Debounce of snapshot file writes after changes. Default 1 000 ms. */
  snapshotFileDebounceMs?: number;
  /** Wall clock (epoch ms): gradual rollouts, windows, timestamps. Default Date.now. */
  clock?: () => number;
  /** Monotonic clock (ms) for withFeature latencies. Default performance.now. */
  monotonic?: () => number;
  /** Outcome windows (default 10 000 ms) and bounds; `enabled: false` publishes nothing. */
  outcomes?: { enabled?: boolean; windowMs?: number; maxPendingWindows?: number; maxErrorUnits?: number; unitAttribute?: string };
  /** Count evaluations per flag and variant into the outcome batches. Default true. */
  trackExposures?: boolean;
  /** Period of the applied-position report on `rg.sdk.<env>.status`. Default 5 000 ms; 0 disables it. */
  statusIntervalMs?: number;
  /**
   * A fresh snapshot this often while connected (default 300 000 ms; 0 disables). Stream versions reveal a lost
   * event at the next event of the same stream; this bounds how long a lost *last* event could go unnoticed.
   */
  resnapshotIntervalMs?: number;
  /** Receives outcome batches instead of NATS (offline clients, tests, forwarding elsewhere). */
  outcomeSink?: (batch: OutcomeBatch) => void;
  /** Subject root (`rg`) and event stream (`RG_EVT_FLAGS`); tests use private ones. */
  subjectRoot?: string;
  streamName?: string;
  logger?: RollgateLogger;
}

/** The options every part of the client reads, with their defaults applied once. */
export interface ClientConfig {
  readonly options: RollgateClientOptions;
  readonly environment: string;
  readonly clientId: string;
  readonly clock: () => number;
  readonly monotonic: () => number;
  readonly logger: RollgateLogger;
}

export function resolveOptions(options: RollgateClientOptions, offline: boolean): ClientConfig {
  if (!options.environment) throw new SdkError('SDK.BAD_OPTIONS', 'environment is required');
  if (!offline && options.connection === undefined && options.servers === undefined) {
    throw new SdkError('SDK.BAD_OPTIONS', 'servers or connection is required');
  }
  return {
    options,
    environment: options.environment,
    clientId: options.clientId ?? randomUUID(),
    clock: options.clock ?? Date.now,
    monotonic: options.monotonic ?? (() => performance.now()),
    logger: options.logger ?? { warn: (message, details) => console.warn(`[rollgate-sdk] ${message}`, details ?? '') },
  };
}
