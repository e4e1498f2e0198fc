import { Module, type DynamicModule, type InjectionToken, type ModuleMetadata } from '@nestjs/common';
import { DEFAULT_CHECK_TIMEOUT_MS, type HealthChecks } from './health-checks.js';
import { HEALTH_CHECKS, HEALTH_CHECK_TIMEOUT_MS, HealthController } from './health.controller.js';

export interface HealthModuleOptions {
  timeoutMs?: number;
}

export interface HealthModuleAsyncOptions extends HealthModuleOptions {
  imports?: ModuleMetadata['imports'];
  inject?: InjectionToken[];
  /** Builds the named checks from providers, e.g. `(ds: DataSource) => ({ postgres: () => ds.query('select 1') })`. */
  useFactory: (...deps: never[]) => HealthChecks | Promise<HealthChecks>;
}

/** `GET /health/live` and `GET /health/ready`; the services supply the checks (Postgres, NATS). */
@Module({})
export class HealthModule {
  static forRoot(checks: HealthChecks, options: HealthModuleOptions = {}): DynamicModule {
    return HealthModule.forRootAsync({ ...options, useFactory: () => checks });
  }

  static forRootAsync({ imports = [], inject = [], useFactory, timeoutMs }: HealthModuleAsyncOptions): DynamicModule {
    return {
      module: HealthModule,
      imports,
      controllers: [HealthController],
      providers: [
        { provide: HEALTH_CHECKS, inject, useFactory: useFactory as (...deps: unknown[]) => HealthChecks | Promise<HealthChecks> },
        { provide: HEALTH_CHECK_TIMEOUT_MS, useValue: timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS },
      ],
    };
  }
}
