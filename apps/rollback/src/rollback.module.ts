import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_CONNECTION } from '#rollgate/messaging';
import { CLOCK, INLINE_PROJECTION, type Clock, type ServiceDefinition } from '#rollgate/service-runtime';
import { ExecutionNatsController } from './execution/execution-nats.controller.js';
import { ExecutionRunner } from './execution/execution.runner.js';
import { ExecutionService } from './execution/execution.service.js';
import { EXECUTION_WAKER } from './execution/execution.tokens.js';
import { PlanNatsController } from './plan/plan-nats.controller.js';
import { PlanService } from './plan/plan.service.js';
import { RollbackStateProjection } from './read-model/rollback-state.projection.js';
import { RollbackQueries } from './read-model/rollback.query.js';
import { RollbackEnv } from './rollback.config.js';
import { rollbackMigrations } from './rollback.migrations.js';
import { RollbackRuntime } from './rollback.runtime.js';
import { FlagsPort } from './steps/flags.port.js';
import { KubernetesPort } from './steps/kubernetes.port.js';
import { SdkStatusBoard } from './steps/sdk-status.board.js';
import { StepPerformer } from './steps/step.performer.js';
import { WebhookPort } from './steps/webhook.port.js';
import { CriteriaWatcher } from './triggers/criteria.watcher.js';

/** The rollback service on the service kit: plans, executions (the saga and its executor), the target lock. */
export const rollbackService: ServiceDefinition<RollbackEnv> = {
  name: 'rollback',
  env: RollbackEnv,
  migrations: rollbackMigrations,
  controllers: [PlanNatsController, ExecutionNatsController],
  providers: [
    PlanService,
    ExecutionService,
    RollbackQueries,
    ExecutionRunner,
    RollbackRuntime,
    { provide: EXECUTION_WAKER, useExisting: ExecutionRunner },
    { provide: INLINE_PROJECTION, useValue: new RollbackStateProjection() },
    {
      provide: FlagsPort,
      inject: [NATS_CONNECTION, RollbackEnv],
      useFactory: (nc: NatsConnection, env: RollbackEnv) => new FlagsPort(nc, env.ROLLGATE_ROLLBACK_BUS_TIMEOUT_MS),
    },
    {
      provide: SdkStatusBoard,
      inject: [NATS_CONNECTION, RollbackEnv],
      useFactory: (nc: NatsConnection, env: RollbackEnv) => new SdkStatusBoard(nc, env.ROLLGATE_ROLLBACK_SDK_STATUS_INTERVAL_MS),
    },
    {
      provide: StepPerformer,
      inject: [FlagsPort, SdkStatusBoard, NATS_CONNECTION, RollbackEnv],
      useFactory: (flags: FlagsPort, board: SdkStatusBoard, nc: NatsConnection, env: RollbackEnv) =>
        new StepPerformer(
          flags,
          board,
          new KubernetesPort({
            ...(env.ROLLGATE_ROLLBACK_KUBE_API_URL === undefined ? {} : { apiUrl: env.ROLLGATE_ROLLBACK_KUBE_API_URL }),
            ...(env.ROLLGATE_ROLLBACK_KUBE_TOKEN === undefined ? {} : { token: env.ROLLGATE_ROLLBACK_KUBE_TOKEN }),
            inCluster: env.ROLLGATE_ROLLBACK_KUBE_IN_CLUSTER,
            insecure: env.ROLLGATE_ROLLBACK_KUBE_INSECURE,
          }),
          new WebhookPort(env.ROLLGATE_ROLLBACK_WEBHOOK_SECRET),
          nc,
          { flagConcurrency: env.ROLLGATE_ROLLBACK_FLAG_CONCURRENCY, busTimeoutMs: env.ROLLGATE_ROLLBACK_BUS_TIMEOUT_MS },
        ),
    },
    {
      provide: CriteriaWatcher,
      inject: [RollbackQueries, FlagsPort, ExecutionService, ExecutionRunner, RollbackEnv, CLOCK],
      useFactory: (queries: RollbackQueries, flags: FlagsPort, executions: ExecutionService, runner: ExecutionRunner, env: RollbackEnv, clock: Clock) =>
        new CriteriaWatcher(queries, flags, executions, { intervalMs: env.ROLLBACK_CHECK_INTERVAL * 1_000, isLeader: () => runner.isLeader, clock }),
    },
  ],
  inlineProjection: () => new RollbackStateProjection(),
  publisher: (env) => ({ enabled: env.ROLLGATE_ROLLBACK_PUBLISHER, stream: env.ROLLGATE_ROLLBACK_EVENT_STREAM }),
};
