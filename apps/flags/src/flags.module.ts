import { Module } from '@nestjs/common';
import { AuditQueries } from './audit/audit.query.js';
import { EvaluationCounter } from './evaluation/evaluation-counter.js';
import { EvaluationService } from './evaluation/evaluation.service.js';
import { FlagFeed } from './evaluation/flag-feed.js';
import { FlagNatsController } from './flag/flag-nats.controller.js';
import { FlagService } from './flag/flag.service.js';
import { FlagsEnv } from './flags.config.js';
import { FlagsRuntime } from './flags.runtime.js';
import { FlagQueryNatsController } from './flag-state/flag-query-nats.controller.js';
import { FlagStateProjection } from './flag-state/flag-state.projection.js';
import { FlagStateQuery } from './flag-state/flag-state.query.js';
import { CLOCK, EVENT_STORE, INLINE_PROJECTION, PG_POOL, POSITION_WAITER, SEGMENT_USAGE, type Clock, type FlagEventStore } from './store/store.tokens.js';
import type { Pool } from 'pg';
import { Logger } from '@nestjs/common';

const feedLogger = new Logger('FlagFeed');

@Module({
  controllers: [FlagNatsController, FlagQueryNatsController],
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
      useFactory: (store: FlagEventStore, env: FlagsEnv) =>
        new FlagFeed(store, {
          pollIntervalMs: env.ROLLGATE_FLAGS_FEED_POLL_MS,
          onError: (error) => feedLogger.error({ msg: 'flag feed failed', err: error }),
        }),
    },
    { provide: POSITION_WAITER, useExisting: FlagFeed },
    {
      provide: EvaluationCounter,
      inject: [PG_POOL, CLOCK],
      useFactory: (pool: Pool, clock: Clock) => new EvaluationCounter(pool, () => clock().getTime()),
    },
  ],
  exports: [FlagService, FlagsRuntime, FlagFeed],
})
export class FlagsModule {}
