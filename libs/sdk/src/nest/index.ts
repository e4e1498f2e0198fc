// `@rollgate/sdk/nestjs`: needs the optional peers @nestjs/common and @nestjs/core.
export {
  RollgateModule,
  RollgateClients,
  InjectRollgate,
  ROLLGATE_OPTIONS,
  type RollgateModuleOptions,
  type RollgateModuleAsyncOptions,
} from './rollgate.module.js';
export { RequireFlag, RequireFlagGuard, defaultContextFromRequest, REQUIRE_FLAG, type RequireFlagOptions } from './require-flag.guard.js';
