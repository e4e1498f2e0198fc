import { createHash } from 'node:crypto';
import { canonicalJson } from '#rollgate/commands';
import type { Execution, FlagDefinition, StepRun } from '#rollgate/contracts';
import { RollbackError, RollbackErrorCodes } from '../rollback.errors.js';
import { isFlagStepResult, type FlagIntent, type FlagOperation, type Operation } from './step-operations.js';

/** What planning a step needs to know of the world, gathered by the executor (queries) before StepStarted. */
export interface PlanningFacts {
  /** Time of the StepStarted event. */
  at: string;
  /** The step's flag (single-flag steps); null when it does not exist. */
  flag?: FlagDefinition | null;
  /** Every active flag (enumerating steps). */
  flags?: FlagDefinition[];
  /** Each flag as it was at the step's `asOf` (null: it did not exist then). */
  asOf?: ReadonlyMap<string, FlagDefinition | null>;
}

/** Which facts a step needs. */
export type FactsNeeded = 'flag' | 'flags' | 'flags-as-of' | 'none';

export function factsNeeded(step: StepRun): FactsNeeded {
  switch (step.type) {
    case 'disable_feature_flag':
    case 'set_rollout':
      return 'flag';
    case 'disable_environment':
    case 'remove_user_group':
      return 'flags';
    case 'restore_environment':
    case 'restore_system':
      return 'flags-as-of';
    default:
      return 'none';
  }
}

/** sha256 of a value's canonical JSON: how intended definitions are compared without storing them twice. */
export const hashOf = (value: unknown): string => createHash('sha256').update(canonicalJson(value ?? null)).digest('hex');

export const definitionHash = (flag: FlagDefinition): string => {
  const { version: _version, ...rest } = flag;
  return hashOf(rest);
};

/** The environments and the last flags position the execution's completed steps changed (for waits and checks). */
export function trafficSoFar(execution: Execution): { position: string | null; environments: string[] } {
  let position: bigint | null = null;
  const environments = new Set<string>();
  for (const step of execution.steps) {
    if (step.status !== 'succeeded' || !isFlagStepResult(step.result)) continue;
    for (const op of step.result.flags) {
      const at = BigInt(op.position);
      if (op.position !== '0' && (position === null || at > position)) position = at;
      if (op.intent !== null && 'environment' in op.intent) environments.add(op.intent.environment);
    }
  }
  return { position: position === null ? null : position.toString(), environments: [...environments].sort() };
}

const notFound = (key: string): RollbackError =>
  new RollbackError(RollbackErrorCodes.targetNotFound, `flag ${key} does not exist`, { key });

/**
 * A step's operations, pure: given the step, the execution and the facts, exactly what will be sent, with the
 * idempotency keys. Enumerating steps skip what is already as intended, so a step names only real changes.
 */
export function planOperations(step: StepRun, execution: Execution, facts: PlanningFacts): Operation[] {
  let n = 0;
  const flagOp = (verb: FlagOperation['verb'], payload: Record<string, unknown>, intent: FlagIntent | null): FlagOperation => ({
    kind: 'flag',
    verb,
    payload,
    commandId: `rb:${execution.id}:${step.index}:${n++}`,
    intent,
  });
  const disable = (flag: FlagDefinition, only?: readonly string[]): FlagOperation[] =>
    Object.entries(flag.environments)
      .filter(([environment, config]) => config.enabled && (only === undefined || only.includes(environment)))
      .map(([environment]) => flagOp('toggle', { key: flag.key, environment, enabled: false }, { check: 'disabled', key: flag.key, environment }));
  const all = (): FlagDefinition[] => facts.flags ?? [];

  switch (step.type) {
    case 'disable_feature_flag': {
      const config = step.config as { flagId: string; environments?: string[] };
      if (!facts.flag) throw notFound(config.flagId);
      return disable(facts.flag, config.environments);
    }
    case 'disable_environment': {
      const config = step.config as { environment?: string };
      return all().flatMap((flag) => disable(flag, config.environment === undefined ? undefined : [config.environment]));
    }
    case 'set_rollout': {
      const config = step.config as { flagId: string; percentage: number; environments?: string[] };
      if (!facts.flag) throw notFound(config.flagId);
      const rollout = { type: 'percentage' as const, ppm: Math.round(config.percentage * 10_000) };
      return Object.keys(facts.flag.environments)
        .filter((environment) => config.environments === undefined || config.environments.includes(environment))
        .map((environment) =>
          flagOp('change-rollout', { key: config.flagId, environment, rollout }, { check: 'rollout', key: config.flagId, environment, rollout }),
        );
    }
    case 'restore_feature_flag': {
      const config = step.config as { flagId: string; toVersion?: number; asOf?: string };
      const target = config.toVersion === undefined ? { asOf: config.asOf } : { toVersion: config.toVersion };
      return [flagOp('revert', { key: config.flagId, ...target }, null)];
    }
    case 'restore_environment': {
      const { environment } = step.config as { environment: string; asOf: string };
      return all().flatMap((flag) => {
        const then = facts.asOf?.get(flag.key)?.environments[environment];
        if (then !== undefined) {
          return [
            flagOp('configure-environment', { key: flag.key, environment, config: then }, { check: 'environment', key: flag.key, environment, hash: hashOf(then) }),
          ];
        }
        // Not configured there at that time (or the flag did not exist): off, the closest to "not there".
        return disable(flag, [environment]);
      });
    }
    case 'restore_system': {
      const { asOf } = step.config as { asOf: string };
      return all().flatMap((flag) => (facts.asOf?.get(flag.key) ? [flagOp('revert', { key: flag.key, asOf }, null)] : disable(flag)));
    }
    case 'remove_user_group': {
      const config = step.config as { segment?: string; users?: string[]; environments?: string[] };
      const users = new Set(config.users ?? []);
      return all().flatMap((flag) =>
        Object.entries(flag.environments)
          .filter(([environment]) => config.environments === undefined || config.environments.includes(environment))
          .flatMap(([environment, envConfig]) => {
            const ops: FlagOperation[] = [];
            let rules = envConfig.rules ?? [];
            if (config.segment !== undefined && rules.some((rule) => rule.segments?.includes(config.segment!))) {
              // The whole rule goes: a rule without its segment would match a wider audience than it did.
              rules = rules.filter((rule) => !rule.segments?.includes(config.segment!));
              ops.push(flagOp('set-rules', { key: flag.key, environment, rules }, { check: 'no_segment', key: flag.key, environment, segment: config.segment }));
            }
            if (users.size > 0) {
              const lists = [
                { ruleId: undefined as string | undefined, rollout: envConfig.defaultRollout },
                ...rules.map((rule) => ({ ruleId: rule.id as string | undefined, rollout: rule.rollout })),
              ];
              for (const { ruleId, rollout } of lists) {
                if (rollout?.type !== 'user_list') continue;
                const remove = rollout.users.filter((user) => users.has(user));
                if (remove.length === 0) continue;
                ops.push(
                  flagOp(
                    'change-user-list',
                    { key: flag.key, environment, add: [], remove, ...(ruleId === undefined ? {} : { ruleId }) },
                    { check: 'no_users', key: flag.key, environment, users: remove },
                  ),
                );
              }
            }
            return ops;
          }),
      );
    }
    case 'end_canary': {
      const config = step.config as { canaryId: string; outcome?: 'rolled_back' | 'aborted' };
      return [{ kind: 'canary', canaryId: config.canaryId, outcome: config.outcome ?? 'rolled_back', commandId: `rb:${execution.id}:${step.index}:0` }];
    }
    case 'wait_for_propagation': {
      const config = step.config as { environments?: string[]; timeoutSeconds?: number; minClients?: number };
      const traffic = trafficSoFar(execution);
      return [
        {
          kind: 'wait',
          position: traffic.position,
          environments: config.environments ?? (traffic.environments.length > 0 ? traffic.environments : null),
          timeoutMs: (config.timeoutSeconds ?? 30) * 1_000,
          minClients: config.minClients ?? 0,
        },
      ];
    }
    case 'restart_service':
    case 'scale_service': {
      const config = step.config as { serviceName: string; namespace?: string; replicas?: number };
      const base = { kind: 'kubernetes' as const, namespace: config.namespace ?? 'default', name: config.serviceName, idempotencyKey: `${execution.id}.${step.index}` };
      return [step.type === 'restart_service' ? { ...base, action: 'restart', restartedAt: facts.at } : { ...base, action: 'scale', replicas: config.replicas! }];
    }
    case 'call_webhook': {
      const config = step.config as { url: string; payload?: Record<string, unknown>; timeoutMs?: number };
      const idempotencyKey = `rb-${execution.id}-${step.index}`;
      return [
        {
          kind: 'webhook',
          url: config.url,
          idempotencyKey,
          timeoutMs: config.timeoutMs ?? 5_000,
          body: {
            idempotencyKey,
            executionId: execution.id,
            step: step.index,
            type: execution.type,
            scope: execution.scope,
            targetId: execution.targetId,
            planId: execution.planId ?? null,
            cause: { kind: execution.cause.kind, actor: execution.cause.actor, reason: execution.cause.reason ?? null },
            startedAt: facts.at,
            payload: config.payload ?? {},
          },
        },
      ];
    }
    default: {
      const unknown: never = step.type;
      throw new Error(`unknown step type ${String(unknown)}`);
    }
  }
}
