import type { Registry } from 'prom-client';
import type { CommandMetrics } from '#rollgate/commands';
import type { PublisherMetrics } from '#rollgate/messaging';
import { createCounter, createGauge, createHistogram } from '#rollgate/platform';

const LATENCY_BUCKETS_S = [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The command path's metrics, the same in every service (the registry adds `service`):
 * rollgate_commands_handled_total{command, result}, rollgate_command_duration_seconds{command},
 * rollgate_command_retries_total{command}, rollgate_eventstore_appended_events_total and
 * rollgate_eventstore_append_duration_seconds.
 */
export function commandMetrics(registry: Registry): CommandMetrics {
  const handled = createCounter(registry, {
    name: 'rollgate_commands_handled_total',
    help: 'Commands handled, by command type and result: applied, noop, duplicate, conflict, rejected (4xx), failed',
    labelNames: ['command', 'result'],
  });
  const duration = createHistogram(registry, {
    name: 'rollgate_command_duration_seconds',
    help: 'Time to handle a command: load, decide, append (retries included), wait for local followers',
    labelNames: ['command'],
    buckets: LATENCY_BUCKETS_S,
  });
  const retries = createCounter(registry, {
    name: 'rollgate_command_retries_total',
    help: 'Commands decided again after losing a stream version race',
    labelNames: ['command'],
  });
  const appendedEvents = createCounter(registry, {
    name: 'rollgate_eventstore_appended_events_total',
    help: 'Events committed to the event store (es.events)',
  });
  const appendDuration = createHistogram(registry, {
    name: 'rollgate_eventstore_append_duration_seconds',
    help: 'Duration of one committed append transaction, inline projection included',
    buckets: LATENCY_BUCKETS_S,
  });
  return {
    handled: (command, result, seconds) => {
      handled.inc({ command, result });
      duration.observe({ command }, seconds);
    },
    appended: (events, seconds) => {
      appendedEvents.inc(events);
      appendDuration.observe(seconds);
    },
    retried: (command) => retries.inc({ command }),
  };
}

/**
 * The outbox publisher's metrics: rollgate_publisher_published_events_total, rollgate_publisher_lag_seconds (commit
 * to JetStream ack of each batch's newest event), rollgate_publisher_leader_active (1 on the replica that leads),
 * rollgate_publisher_foreign_messages_total and rollgate_publisher_parked_events_total.
 */
export function publisherMetrics(registry: Registry): PublisherMetrics {
  const published = createCounter(registry, {
    name: 'rollgate_publisher_published_events_total',
    help: 'Events the outbox publisher stored in the service stream (JetStream acked)',
  });
  const lag = createHistogram(registry, {
    name: 'rollgate_publisher_lag_seconds',
    help: 'Commit of the newest event of a published batch to its JetStream ack: the outbox lag',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const leader = createGauge(registry, {
    name: 'rollgate_publisher_leader_active',
    help: '1 while this replica holds the publisher lease (one per service), else 0',
  });
  leader.set(0);
  const foreign = createCounter(registry, {
    name: 'rollgate_publisher_foreign_messages_total',
    help: 'Messages in the service stream not written by its publisher (skipped on resume)',
  });
  const parked = createCounter(registry, {
    name: 'rollgate_publisher_parked_events_total',
    help: 'Stored events the outbox publisher could not publish (larger than the NATS max_payload) and skipped',
  });
  return {
    published: (count) => published.inc(count),
    lagSeconds: (seconds) => lag.observe(seconds),
    leader: (isLeader) => leader.set(isLeader ? 1 : 0),
    foreign: (count) => foreign.inc(count),
    parked: (count) => parked.inc(count),
  };
}
