import { Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import { NATS_CONNECTION } from '#rollgate/messaging';
import type { EventStore } from '#rollgate/event-store';
import {
  APPLIED_POSITION_WAITER,
  CLOCK,
  EVENT_STORE,
  INLINE_PROJECTION,
  PG_POOL,
  type Clock,
  type ServiceDefinition,
} from '#rollgate/service-runtime';
import { AuditProjection } from './audit/audit.projection.js';
import { AuditQueries } from './audit/audit.query.js';
import { EvaluationCounter } from './evaluation/evaluation-counter.js';
import { EvaluationService } from './evaluation/evaluation.service.js';
import { FlagFeed } from './evaluation/flag-feed.js';
import { FlagNatsController } from './flag/flag-nats.controller.js';
import { FlagService } from './flag/flag.service.js';
import { FlagQueryNatsController } from './flag-state/flag-query-nats.controller.js';
import { FlagStateProjection } from './flag-state/flag-state.projection.js';
import { FlagStateQuery } from './flag-state/flag-state.query.js';
import { FlagsEnv } from './flags.config.js';
import { flagsMigrations } from './flags.migrations.js';
import { FlagsRuntime } from './flags.runtime.js';
import { OutcomeIntake } from './outcomes/outcome-intake.js';
import { OutcomeNatsController } from './outcomes/outcome-nats.controller.js';
import { OutcomeQueries } from './outcomes/outcome.query.js';
import { OutcomeRollup } from './outcomes/outcome-rollup.js';
import { PropagationMonitor } from './propagation/propagation-monitor.js';
import { SEGMENT_USAGE } from './store/store.tokens.js';

const feedLogger = new Logger('FlagFeed');
const outcomeLogger = new Logger('Outcomes');

/** The flags service on the service kit: its controllers, its providers, its read models. */
export const flagsService: ServiceDefinition<FlagsEnv> = {
  name: 'flags',
  env: FlagsEnv,
  migrations: flagsMigrations,
  controllers: [FlagNatsController, FlagQueryNatsController, OutcomeNatsController],
  providers: [
    FlagService,
    FlagStateQuery,
    AuditQueries,
    EvaluationService,
    FlagsRuntime,
    { provide: SEGMENT_USAGE, useExisting: FlagStateQuery },
    { provide: INLINE_PROJECTION, useValue: new FlagStateProjection() },
    {
      provide: FlagFeed,
      inject: [EVENT_STORE, FlagsEnv],
      useFactory: (store: EventStore, env: FlagsEnv) =>
        new FlagFeed(store, {
          pollIntervalMs: env.ROLLGATE_FLAGS_FEED_POLL_MS,
          onError: (error) => feedLogger.error({ msg: 'flag feed failed', err: error }),
        }),
    },
    { provide: APPLIED_POSITION_WAITER, useExisting: FlagFeed },
    {
      provide: EvaluationCounter,
      inject: [PG_POOL, CLOCK],
      useFactory: (pool: Pool, clock: Clock) => new EvaluationCounter(pool, () => clock().getTime()),
    },
    { provide: OutcomeRollup, inject: [PG_POOL, FlagFeed], useFactory: (pool: Pool, feed: FlagFeed) => new OutcomeRollup(pool, (key) => feed.flag(key)) },
    { provide: OutcomeQueries, inject: [PG_POOL], useFactory: (pool: Pool) => new OutcomeQueries(pool) },
    {
      provide: OutcomeIntake,
      inject: [NATS_CONNECTION, OutcomeRollup, Registry, FlagsEnv],
      useFactory: (nc: NatsConnection, rollup: OutcomeRollup, registry: Registry, env: FlagsEnv) =>
        new OutcomeIntake(nc, rollup, registry, {
          maxQueued: env.ROLLGATE_FLAGS_OUTCOME_QUEUE_MAX,
          concurrency: 4,
          onError: (msg, error) => outcomeLogger.error({ msg, err: error }),
        }),
    },
    {
      provide: PropagationMonitor,
      inject: [NATS_CONNECTION, Registry, FlagsEnv],
      useFactory: (nc: NatsConnection, registry: Registry, env: FlagsEnv) =>
        new PropagationMonitor(nc, registry, { statusIntervalMs: env.ROLLGATE_FLAGS_SDK_STATUS_INTERVAL_MS }),
    },
  ],
  inlineProjection: () => new FlagStateProjection(),
  asyncProjections: [{ create: () => new AuditProjection(), pollMs: (env) => env.ROLLGATE_FLAGS_AUDIT_POLL_MS }],
  publisher: (env) => ({ enabled: env.ROLLGATE_FLAGS_PUBLISHER, stream: env.ROLLGATE_FLAGS_EVENT_STREAM }),
};
