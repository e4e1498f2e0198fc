import type { EnvironmentConfig, FlagDefinition, Rollout, Rule, Segment } from '#rollgate/evaluation';
import type { FlagEvent, SegmentEvent } from './flag.events.js';

/** Absent until FlagCreated. `version` is the stream version of the last event folded in. */
export type FlagState = FlagDefinition | null;

const withUsers = (rollout: Rollout, added: readonly string[], removed: readonly string[]): Rollout => {
  if (rollout.type !== 'user_list') return rollout;
  const users = new Set(rollout.users);
  for (const user of removed) users.delete(user);
  for (const user of added) users.add(user);
  return { ...rollout, users: [...users] };
};

const updateEnvironment = (
  flag: FlagDefinition,
  environment: string,
  change: (config: EnvironmentConfig) => EnvironmentConfig,
): FlagDefinition => {
  const current = flag.environments[environment] ?? { enabled: false, rules: [], defaultRollout: { type: 'all_users' } };
  return { ...flag, environments: { ...flag.environments, [environment]: change(current) } };
};

const updateRule = (rules: Rule[] | undefined, ruleId: string, change: (rule: Rule) => Rule): Rule[] =>
  (rules ?? []).map((rule) => (rule.id === ruleId ? change(rule) : rule));

/**
 * Folds one flag event. Pure and total: the flags service, the SDK and the audit projection all use it, so a
 * flag means the same thing everywhere. Events that do not apply to the state (a change before creation) leave
 * it as it was; the decider never emits them.
 */
export function evolveFlag(state: FlagState, event: FlagEvent, version: number): FlagState {
  if (event.type === 'FlagCreated') return { ...event.data.flag, archived: false, version };
  if (state === null) return state;
  const next = ((): FlagDefinition => {
    switch (event.type) {
      case 'FlagDetailsChanged':
        return { ...state, ...event.data.changes };
      case 'FlagArchived':
        return { ...state, archived: true };
      case 'FlagUnarchived':
        return { ...state, archived: false };
      case 'FlagToggled':
        return updateEnvironment(state, event.data.environment, (config) => ({ ...config, enabled: event.data.enabled }));
      case 'EnvironmentConfigured':
        return { ...state, environments: { ...state.environments, [event.data.environment]: event.data.config } };
      case 'EnvironmentRemoved': {
        const { [event.data.environment]: _removed, ...environments } = state.environments;
        return { ...state, environments };
      }
      case 'RolloutChanged': {
        const { ruleId, rollout } = event.data;
        return updateEnvironment(state, event.data.environment, (config) =>
          ruleId
            ? { ...config, rules: updateRule(config.rules, ruleId, (rule) => ({ ...rule, rollout })) }
            : { ...config, defaultRollout: rollout },
        );
      }
      case 'RulesChanged':
        return updateEnvironment(state, event.data.environment, (config) => ({ ...config, rules: event.data.rules }));
      case 'UserListChanged': {
        const { ruleId, added, removed } = event.data;
        return updateEnvironment(state, event.data.environment, (config) =>
          ruleId
            ? {
                ...config,
                rules: updateRule(config.rules, ruleId, (rule) => ({
                  ...rule,
                  rollout: rule.rollout && withUsers(rule.rollout, added, removed),
                })),
              }
            : { ...config, defaultRollout: withUsers(config.defaultRollout, added, removed) },
        );
      }
      case 'FlagReverted':
        return { ...event.data.flag, version };
      default: {
        const unknown: never = event;
        return unknown;
      }
    }
  })();
  return { ...next, version };
}

export type SegmentState = Segment | null;

/**
 * The Set of a member list's ids, handed from each version of the list to the next: folding 100 chunks of 1 000
 * into a list of 100 000 then costs the chunks, not 100 copies of a growing Set. Taking a list's Set removes it
 * from the cache, so a version folded again (a branch) builds its own: the arrays are never changed, and folding
 * stays a pure function of them.
 */
const memberSets = new WeakMap<readonly string[], Set<string>>();

const takeMemberSet = (members: readonly string[]): Set<string> => {
  const set = memberSets.get(members);
  if (set === undefined) return new Set(members);
  memberSets.delete(members);
  return set;
};

/**
 * Folds one segment event. A redefinition keeps the members of a list that stays a list; member chunks before the
 * segment exists leave it absent (the decider never emits them).
 */
export function evolveSegment(state: SegmentState, event: SegmentEvent, version: number): SegmentState {
  switch (event.type) {
    case 'SegmentDefined': {
      const { members: _members, ...definition } = event.data.segment as Segment;
      const kept = definition.memberAttribute !== undefined && state?.members !== undefined ? { members: state.members } : {};
      return { ...definition, ...kept, version };
    }
    case 'SegmentMembersAdded': {
      if (state === null) return state;
      const current = state.members ?? [];
      const present = takeMemberSet(current);
      const fresh: string[] = [];
      for (const member of event.data.members) {
        if (!present.has(member)) {
          present.add(member);
          fresh.push(member);
        }
      }
      const members = fresh.length === 0 ? [...current] : current.concat(fresh);
      memberSets.set(members, present);
      return { ...state, members, version };
    }
    case 'SegmentMembersRemoved': {
      if (state === null) return state;
      const present = takeMemberSet(state.members ?? []);
      const removed = new Set(event.data.members);
      for (const member of removed) present.delete(member);
      const members = (state.members ?? []).filter((member) => !removed.has(member));
      memberSets.set(members, present);
      return { ...state, members, version };
    }
    case 'SegmentRemoved':
      return null;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}
