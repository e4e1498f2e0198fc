import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { MessagingError } from './messaging.errors.js';
import type { PublisherLogger } from './event-publisher.js';

export interface DurableConsumerOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  /** `<consumer-service>-<purpose>`, e.g. `canary-monitor-flags`; replicas sharing it share the work. */
  durable: string;
  /** Exactly one filter (nats-server 2.9). */
  filterSubject: string;
  /** Must be idempotent: a message is redelivered when the process dies between the effect and the ack. */
  handler: (msg: JsMsg) => Promise<void>;
  /**
   * 1 (default) keeps delivery in stream order, redeliveries included. Larger values raise throughput but a
   * redelivered message arrives after newer ones (research P12); `applyEventOnce` then naks the gap.
   */
  maxAckPending?: number;
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Delay before a failed message is redelivered. */
  nakDelayMs?: number;
  /** Wait for the server to confirm each ack (`ackAck`), for effects that must not run twice. */
  doubleAck?: boolean;
  logger?: PublisherLogger;
}

export interface DurableConsumerHandle {
  readonly info: ConsumerInfo;
  /** Stops pulling, lets the in-flight handler finish and ack, then resolves. */
  stop(): Promise<void>;
  /** Resolves when the consume loop has ended (after stop, or if the consumer was deleted). */
  readonly done: Promise<void>;
}

/**
 * Creates or updates a durable pull consumer (explicit ack, one filter subject) and consumes it in order:
 * ack after the handler's promise resolves, nak with a delay when it rejects.
 */
export async function startDurableConsumer(options: DurableConsumerOptions): Promise<DurableConsumerHandle> {
  const { js, jsm, stream, durable } = options;
  const logger = options.logger ?? console;
  const nakDelayMs = options.nakDelayMs ?? 1000;
  const info = await ensureDurableConsumer(jsm, options);
  const consumer = await js.consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: Math.max(1, Math.min(options.maxAckPending ?? 1, 256)) });
  let stopping = false;

  const done = (async () => {
    for await (const m of messages) {
      try {
        await options.handler(m);
      } catch (err) {
        logger.warn(`${durable}: handler failed on #${m.seq} (delivery ${m.info.deliveryCount}): ${describe(err)}`);
        m.nak(nakDelayMs);
        continue;
      }
      if (options.doubleAck) {
        // The effect is committed; if this ack is lost the message comes back and the handler skips it.
        await m.ackAck().catch((err: unknown) => logger.warn(`${durable}: ackAck #${m.seq}: ${describe(err)}`));
      } else {
        m.ack();
      }
      if (stopping) break;
    }
  })();

  return {
    info,
    done,
    async stop() {
      stopping = true;
      await messages.close();
      await done;
    },
  };
}

async function ensureDurableConsumer(jsm: JetStreamManager, o: DurableConsumerOptions): Promise<ConsumerInfo> {
  const mutable: Partial<ConsumerConfig> = {
    max_deliver: o.maxDeliver ?? 10,
    ack_wait: (o.ackWaitMs ?? 30_000) * 1_000_000,
    max_ack_pending: o.maxAckPending ?? 1,
  };
  let existing: ConsumerInfo | undefined;
  try {
    existing = await jsm.consumers.info(o.stream, o.durable);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  if (!existing) {
    return jsm.consumers.add(o.stream, {
      durable_name: o.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: o.filterSubject,
      ...mutable,
    });
  }
  if (existing.config.filter_subject !== o.filterSubject) {
    // 2.9 cannot change a durable's filter; a new filter needs a new durable name.
    throw new MessagingError(
      'MESSAGING.CONSUMER_MISMATCH',
      `durable ${o.durable} filters ${existing.config.filter_subject ?? '(none)'}, not ${o.filterSubject}`,
    );
  }
  return jsm.consumers.update(o.stream, o.durable, mutable);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
