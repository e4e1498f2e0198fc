import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_CONNECTION } from '#rollgate/messaging';
import { CLOCK, INLINE_PROJECTION, type Clock, type ServiceDefinition } from '#rollgate/service-runtime';
import { BusRequests } from './bus/bus-request.js';
import { FlagsPort } from './bus/flags.port.js';
import { RollbackPort } from './bus/rollback.port.js';
import { CanaryNatsController } from './canary/canary-nats.controller.js';
import { CanaryMetrics } from './canary/canary.metrics.js';
import { CanaryReactor } from './canary/canary.reactor.js';
import { CanaryRecorder } from './canary/canary.recorder.js';
import { CanaryService } from './canary/canary.service.js';
import { CanaryEnv } from './canary.config.js';
import { canaryMigrations } from './canary.migrations.js';
import { CanaryRuntime } from './canary.runtime.js';
import { CanaryMonitor } from './monitor/canary-monitor.js';
import { OutcomeIntake } from './monitor/outcome-intake.js';
import { CanaryQueryNatsController } from './read-model/canary-query-nats.controller.js';
import { CanaryQueries } from './read-model/canary.query.js';
import { CanaryStateProjection } from './read-model/canary-state.projection.js';
import { CanaryViews } from './read-model/canary-views.js';

/** The canary service on the service kit: its controllers, its providers, its read model. */
export const canaryService: ServiceDefinition<CanaryEnv> = {
  name: 'canary',
  env: CanaryEnv,
  migrations: canaryMigrations,
  controllers: [CanaryNatsController, CanaryQueryNatsController],
  providers: [
    CanaryRecorder,
    CanaryService,
    CanaryQueries,
    CanaryViews,
    CanaryMetrics,
    CanaryRuntime,
    { provide: INLINE_PROJECTION, useValue: new CanaryStateProjection({ guardActive: true }) },
    {
      provide: BusRequests,
      inject: [NATS_CONNECTION, CanaryEnv],
      useFactory: (nc: NatsConnection, env: CanaryEnv) => new BusRequests(nc, env.ROLLGATE_CANARY_BUS_TIMEOUT_MS),
    },
    { provide: FlagsPort, inject: [BusRequests], useFactory: (bus: BusRequests) => new FlagsPort(bus) },
    { provide: RollbackPort, inject: [BusRequests], useFactory: (bus: BusRequests) => new RollbackPort(bus) },
    {
      provide: CanaryReactor,
      inject: [CanaryRecorder, FlagsPort, RollbackPort, CanaryMetrics, CanaryEnv, CLOCK],
      useFactory: (
        recorder: CanaryRecorder,
        flags: FlagsPort,
        rollback: RollbackPort,
        metrics: CanaryMetrics,
        env: CanaryEnv,
        clock: Clock,
      ) =>
        new CanaryReactor(recorder, flags, rollback, metrics, {
          graceMs: env.ROLLGATE_CANARY_ROLLBACK_GRACE_MS,
          clock,
        }),
    },
    {
      provide: CanaryMonitor,
      inject: [NATS_CONNECTION, CanaryRecorder, CanaryReactor, CanaryQueries, CanaryMetrics, CanaryEnv, CLOCK],
      useFactory: (
        nc: NatsConnection,
        recorder: CanaryRecorder,
        reactor: CanaryReactor,
        queries: CanaryQueries,
        metrics: CanaryMetrics,
        env: CanaryEnv,
        clock: Clock,
      ) =>
        new CanaryMonitor(
          (watching) => new OutcomeIntake(nc, metrics, watching, () => clock().getTime()),
          recorder,
          reactor,
          queries,
          metrics,
          {
            lookMs: env.ROLLGATE_CANARY_LOOK_MS,
            windowMs: env.CANARY_MONITORING_INTERVAL * 1_000,
            refreshMs: env.ROLLGATE_CANARY_REFRESH_MS,
            clock,
          },
        ),
    },
  ],
  inlineProjection: () => new CanaryStateProjection({ guardActive: false }),
  publisher: (env) => ({ enabled: env.ROLLGATE_CANARY_PUBLISHER, stream: env.ROLLGATE_CANARY_EVENT_STREAM }),
};
