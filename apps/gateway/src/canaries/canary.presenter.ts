import type { CanaryCommandResult, CanaryMetrics, CanaryState, CanaryView } from '#rollgate/contracts';
import { toSnakeCase } from '../http/json-case.js';

/**
 * A canary as the HTTP API shows it: the state in snake_case under the seed's names (`feature_flag_id`,
 * `target_percentage`, `monitoring_duration_hours`, `success_criteria`, `rollback_criteria`).
 */
export const presentCanary = (canary: CanaryState | CanaryView): Record<string, unknown> => {
  const { flagKey, ...rest } = canary;
  return { feature_flag_id: flagKey, ...toSnakeCase<Record<string, unknown>>(rest) };
};

export const presentCanaryResult = (result: CanaryCommandResult): Record<string, unknown> => ({
  ...presentCanary(result.canary),
  duplicate: result.duplicate,
});

export const presentMetrics = (metrics: CanaryMetrics): Record<string, unknown> => {
  const { flagKey, since, until, ...rest } = metrics;
  return {
    feature_flag_id: flagKey,
    start_time: since,
    end_time: until,
    ...toSnakeCase<Record<string, unknown>>(rest),
  };
};
