import { Module, type DynamicModule } from '@nestjs/common';
import { Registry } from 'prom-client';
import { MetricsController } from './metrics.controller.js';
import { createRegistry, type RegistryOptions } from './metrics.js';

/** Provides the app's prom-client `Registry` (inject it by that class) and serves it at `GET /metrics`. */
@Module({})
export class MetricsModule {
  static forRoot(options: RegistryOptions): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [{ provide: Registry, useFactory: () => createRegistry(options) }],
      exports: [Registry],
    };
  }
}
