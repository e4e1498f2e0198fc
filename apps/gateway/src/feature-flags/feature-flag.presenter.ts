import type { FlagCommandResult, FlagView } from '#rollgate/contracts';
import type { FlagDefinition } from '#rollgate/evaluation';
import { toSnakeCase } from '../http/json-case.js';

/** A flag as the HTTP API shows it: the model in snake_case (metadata keys as they were set), plus the seed's `status`. */
export const presentFlag = (flag: FlagDefinition): Record<string, unknown> => {
  const { metadata, ...model } = flag;
  return {
    ...toSnakeCase<Record<string, unknown>>(model),
    ...(metadata === undefined ? {} : { metadata }),
    status: flag.archived === true ? 'archived' : 'active',
  };
};

/** A command's reply: the flag after the change, with the version and whether this was a repeat. */
export const presentCommandResult = (result: FlagCommandResult): Record<string, unknown> => ({
  key: result.key,
  version: result.version,
  position: result.position,
  duplicate: result.duplicate,
  flag: result.flag === null ? null : presentFlag(result.flag),
});

/** What the flags service's evaluate query answers (an engine EvaluationResult, maybe with `on`/`enabled`). */
export interface EvaluationReply {
  value: unknown;
  variant?: string;
  reason: string;
  flagVersion?: number;
  version?: number;
  ruleId?: string;
  errorCode?: string;
  metadata?: Readonly<Record<string, string | number | boolean>>;
  enabled?: boolean;
  on?: boolean;
}

export interface EvaluationResponse {
  flag: string;
  value: unknown;
  enabled: boolean;
  variant: string | null;
  reason: string;
  version: number | null;
  rule_id?: string;
  error_code?: string;
  /** The flag's metadata (OpenFeature flagMetadata); absent when it has none. */
  metadata?: Readonly<Record<string, string | number | boolean>>;
}

const NOT_SERVED = new Set(['DISABLED', 'ERROR']);

/**
 * `enabled` is what the seed's callers branch on: the service's own answer when it gives one, else true for a
 * boolean `true`, or for an experiment variant served for a reason other than DISABLED / ERROR.
 */
export const presentEvaluation = (key: string, reply: EvaluationReply): EvaluationResponse => {
  const enabled =
    reply.enabled ??
    reply.on ??
    (typeof reply.value === 'boolean'
      ? reply.value
      : reply.variant !== undefined && reply.variant !== 'off' && !NOT_SERVED.has(reply.reason));
  const response: EvaluationResponse = {
    flag: key,
    value: reply.value ?? null,
    enabled,
    variant: reply.variant ?? null,
    reason: reply.reason,
    version: reply.flagVersion ?? reply.version ?? null,
  };
  if (reply.ruleId !== undefined) response.rule_id = reply.ruleId;
  if (reply.errorCode !== undefined) response.error_code = reply.errorCode;
  if (reply.metadata !== undefined) response.metadata = reply.metadata;
  return response;
};

/** A row of the flags service's current-state read model. */
export const presentFlagView = (view: FlagView): Record<string, unknown> => ({
  ...presentFlag(view.flag),
  position: view.position,
  updated_at: view.updatedAt,
});
