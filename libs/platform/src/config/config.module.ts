import { Module, type DynamicModule } from '@nestjs/common';
import { BaseEnv } from './base-env.config.js';
import { loadConfig, type EnvClass, type Environment } from './load-config.js';

export interface ConfigModuleOptions {
  /** Defaults to `process.env`; tests pass their own. */
  env?: Environment;
}

/**
 * Global module providing the validated env instance under its class as token (and under `BaseEnv`, so the
 * platform pieces can read the shared variables whatever the service's class is).
 */
@Module({})
export class ConfigModule {
  static forRoot<T extends BaseEnv>(envClass: EnvClass<T>, options: ConfigModuleOptions = {}): DynamicModule {
    const providers = [
      // a factory, so a bad env fails at bootstrap rather than when the module file is imported
      { provide: envClass, useFactory: () => loadConfig(envClass, options.env ?? process.env) },
      ...(envClass === (BaseEnv as unknown) ? [] : [{ provide: BaseEnv, useExisting: envClass }]),
    ];
    return { module: ConfigModule, global: true, providers, exports: providers.map((p) => p.provide) };
  }
}
