import { isDeepStrictEqual } from 'node:util';
import type { ConsistencyReport, Execution, FlagDefinition } from '#rollgate/contracts';
import type { FlagsPort } from './flags.port.js';
import type { SdkStatusBoard } from './sdk-status.board.js';
import { definitionHash, hashOf, trafficSoFar } from './step-planning.js';
import { isFlagStepResult, type FlagIntent } from './step-operations.js';

/**
 * The state the execution meant to leave, per flag: the intents of its completed flag steps in order. A restore
 * (a whole definition) supersedes what came before it on that flag, and a later change supersedes the restore's
 * definition (the later intent is then the one that must hold). Compensated steps meant nothing in the end.
 */
export function intendedState(execution: Execution): Map<string, FlagIntent[]> {
  const byKey = new Map<string, FlagIntent[]>();
  for (const step of execution.steps) {
    const result = step.status === 'compensated' ? step.compensation?.result : step.status === 'succeeded' ? step.result : undefined;
    if (!isFlagStepResult(result)) continue;
    for (const op of result.flags) {
      if (op.intent === null) continue;
      const list = byKey.get(op.key) ?? [];
      if (op.intent.check === 'definition') byKey.set(op.key, [op.intent]);
      else byKey.set(op.key, [...list.filter((intent) => intent.check !== 'definition'), op.intent]);
    }
  }
  return byKey;
}

/** Whether one intent holds on the flag as it is; the actual value when it does not. */
export function intentHolds(intent: FlagIntent, flag: FlagDefinition | undefined): { holds: boolean; actual: unknown } {
  if (flag === undefined) return { holds: false, actual: null };
  switch (intent.check) {
    case 'disabled': {
      const enabled = flag.environments[intent.environment]?.enabled === true;
      return { holds: !enabled, actual: { enabled } };
    }
    case 'rollout': {
      const rollout = flag.environments[intent.environment]?.defaultRollout ?? null;
      return { holds: isDeepStrictEqual(JSON.parse(JSON.stringify(rollout)), JSON.parse(JSON.stringify(intent.rollout))), actual: rollout };
    }
    case 'definition': {
      const hash = definitionHash(flag);
      return { holds: hash === intent.hash, actual: { hash, version: flag.version } };
    }
    case 'environment': {
      const config = flag.environments[intent.environment];
      const hash = config === undefined ? null : hashOf(config);
      return { holds: hash === intent.hash, actual: { hash } };
    }
    case 'no_segment': {
      const rules = flag.environments[intent.environment]?.rules ?? [];
      const using = rules.filter((rule) => rule.segments?.includes(intent.segment)).map((rule) => rule.id);
      return { holds: using.length === 0, actual: { rules: using } };
    }
    case 'no_users': {
      const config = flag.environments[intent.environment];
      const lists = [config?.defaultRollout, ...(config?.rules ?? []).map((rule) => rule.rollout)];
      const still = intent.users.filter((user) => lists.some((rollout) => rollout?.type === 'user_list' && rollout.users.includes(user)));
      return { holds: still.length === 0, actual: { users: still } };
    }
    default: {
      const unknown: never = intent;
      throw new Error(`unknown intent ${JSON.stringify(unknown)}`);
    }
  }
}

/** Intended vs actual: the flags service's state now, and the SDK clients' applied positions. */
export async function checkConsistency(
  execution: Execution,
  flags: FlagsPort,
  board: SdkStatusBoard,
  sdkWaitMs: number,
): Promise<Omit<ConsistencyReport, 'at'>> {
  const intended = intendedState(execution);
  const differences: ConsistencyReport['differences'] = [];
  if (intended.size > 0) {
    const all = await flags.query<Array<{ flag: FlagDefinition }>>('list', {}, execution.id);
    const actual = new Map(all.map((view) => [view.flag.key, view.flag]));
    for (const [key, intents] of intended) {
      for (const intent of intents) {
        const { holds, actual: found } = intentHolds(intent, actual.get(key));
        if (!holds) {
          const { key: _key, ...expected } = intent;
          differences.push({ key, expected, actual: found });
        }
      }
    }
  }
  const traffic = trafficSoFar(execution);
  let clients = 0;
  let sdkConfirmedAt: string | undefined;
  if (traffic.position !== null) {
    const outcome = await board.waitUntilApplied(traffic.position, traffic.environments.length > 0 ? traffic.environments : null, { timeoutMs: sdkWaitMs });
    clients = outcome.clients;
    if (outcome.confirmedAt !== null) sdkConfirmedAt = outcome.confirmedAt;
    for (const lagging of outcome.lagging.slice(0, 50)) {
      differences.push({ clientId: lagging.clientId, expected: { appliedPosition: traffic.position }, actual: { appliedPosition: lagging.appliedPosition } });
    }
  }
  return {
    verified: differences.length === 0,
    flags: intended.size,
    clients,
    ...(sdkConfirmedAt === undefined ? {} : { sdkConfirmedAt }),
    differences: differences.slice(0, 100),
  };
}
