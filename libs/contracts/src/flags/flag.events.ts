import type { EnvironmentConfig, FlagDefinition, Rollout, Rule, Segment, Variant } from '#rollgate/evaluation';

/**
 * Events of the `flag-<key>` streams, published as `rg.evt.flags.flag.<key>.<type>`. Each carries the smallest
 * change that explains itself (user lists travel as deltas), and `evolveFlag` folds them in every process that
 * holds flags: the flags service, the SDK, the audit trail.
 */
export type FlagDetails = Pick<
  FlagDefinition,
  'name' | 'description' | 'tags' | 'owner' | 'variants' | 'offVariant' | 'salt' | 'stickiness' | 'metadata'
>;

export interface FlagEventMap {
  FlagCreated: { flag: Omit<FlagDefinition, 'version' | 'archived'> };
  FlagDetailsChanged: { changes: Partial<FlagDetails> };
  FlagArchived: Record<string, never>;
  FlagUnarchived: Record<string, never>;
  FlagToggled: { environment: string; enabled: boolean };
  EnvironmentConfigured: { environment: string; config: EnvironmentConfig };
  EnvironmentRemoved: { environment: string };
  RolloutChanged: { environment: string; rollout: Rollout; ruleId?: string };
  RulesChanged: { environment: string; rules: Rule[] };
  UserListChanged: { environment: string; ruleId?: string; added: string[]; removed: string[] };
  /** A restore to an earlier version or time: the whole definition as it was then. */
  FlagReverted: { flag: Omit<FlagDefinition, 'version'>; toVersion: number; asOf?: string };
}

export type FlagEventType = keyof FlagEventMap;

export const FLAG_EVENT_TYPES: readonly FlagEventType[] = [
  'FlagCreated',
  'FlagDetailsChanged',
  'FlagArchived',
  'FlagUnarchived',
  'FlagToggled',
  'EnvironmentConfigured',
  'EnvironmentRemoved',
  'RolloutChanged',
  'RulesChanged',
  'UserListChanged',
  'FlagReverted',
];

export type FlagEvent = { [T in FlagEventType]: { type: T; data: FlagEventMap[T] } }[FlagEventType];

/**
 * Events of the `segment-<key>` streams. A member list never travels whole: SegmentDefined carries the definition
 * (members are kept across a redefinition), and the members come and go in chunks of at most MEMBERS_PER_EVENT ids,
 * so every event stays far below the bus's payload limit whatever the list's size. One command's chunks are
 * appended in one transaction, so readers see the whole change or none of it.
 */
export interface SegmentEventMap {
  SegmentDefined: { segment: Omit<Segment, 'version' | 'members'> };
  SegmentMembersAdded: { members: string[] };
  SegmentMembersRemoved: { members: string[] };
  SegmentRemoved: Record<string, never>;
}
export type SegmentEventType = keyof SegmentEventMap;

export const SEGMENT_EVENT_TYPES: readonly SegmentEventType[] = ['SegmentDefined', 'SegmentMembersAdded', 'SegmentMembersRemoved', 'SegmentRemoved'];

/** Member ids per SegmentMembersAdded / SegmentMembersRemoved: 1 000 ids of at most 256 characters is < 300 KB. */
export const MEMBERS_PER_EVENT = 1_000;
export type SegmentEvent = { [T in SegmentEventType]: { type: T; data: SegmentEventMap[T] } }[SegmentEventType];

export const flagStreamId = (key: string): string => `flag-${key}`;
export const segmentStreamId = (key: string): string => `segment-${key}`;

export type { EnvironmentConfig, FlagDefinition, Rollout, Rule, Segment, Variant };
