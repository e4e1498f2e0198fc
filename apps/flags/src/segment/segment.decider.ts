import { isDeepStrictEqual } from 'node:util';
import {
  MAX_DEFINITION_BYTES,
  MEMBERS_PER_EVENT,
  type ChangeSegmentMembersPayload,
  type DefineSegmentPayload,
  type RemoveSegmentPayload,
  type SegmentEvent,
  type SegmentState,
} from '#rollgate/contracts';
import { MAX_MEMBER_LENGTH, MAX_SEGMENT_MEMBERS, validateSegment, type Segment } from '#rollgate/evaluation';
import { FlagError, FlagErrorCodes } from '../flag/flag.errors.js';
import { segmentShapeProblems } from '../flag/flag.shape.js';

export type SegmentCommand =
  | { type: 'DefineSegment'; data: DefineSegmentPayload }
  | { type: 'ChangeSegmentMembers'; data: ChangeSegmentMembersPayload }
  /** `usedBy`: keys of the flags whose rules still reference the segment (the service looks them up). */
  | { type: 'RemoveSegment'; data: RemoveSegmentPayload; usedBy: readonly string[] };

export const segmentCommandKey = (command: SegmentCommand): string =>
  command.type === 'DefineSegment' ? String(command.data.segment?.key) : command.data.key;

type Definition = Omit<Segment, 'version' | 'members'>;

const definitionOf = (segment: Segment | Omit<Segment, 'version'>): Definition => {
  const { members: _members, version: _version, ...definition } = segment as Segment;
  return JSON.parse(JSON.stringify(definition)) as Definition;
};

/** `items` in events of at most MEMBERS_PER_EVENT each: a list of any size travels in small events. */
function chunked(type: 'SegmentMembersAdded' | 'SegmentMembersRemoved', members: readonly string[]): SegmentEvent[] {
  const events: SegmentEvent[] = [];
  for (let i = 0; i < members.length; i += MEMBERS_PER_EVENT) events.push({ type, data: { members: members.slice(i, i + MEMBERS_PER_EVENT) } });
  return events;
}

/** Removals first, then additions, as ChangeUserList does: an id both removed and added ends up a member. */
function memberEvents(removed: readonly string[], added: readonly string[]): SegmentEvent[] {
  return [...chunked('SegmentMembersRemoved', removed), ...chunked('SegmentMembersAdded', added)];
}

function assertSmallDefinition(definition: Definition): void {
  const bytes = Buffer.byteLength(JSON.stringify(definition));
  if (bytes > MAX_DEFINITION_BYTES) {
    throw new FlagError(
      FlagErrorCodes.definitionTooLarge,
      `segment ${definition.key} would be ${bytes} bytes without its members, over the ${MAX_DEFINITION_BYTES}-byte limit`,
      { key: definition.key, bytes, maxBytes: MAX_DEFINITION_BYTES },
    );
  }
}

function assertListSize(key: string, size: number): void {
  if (size > MAX_SEGMENT_MEMBERS) {
    throw FlagError.invalid(`segment ${key} would hold ${size} members`, [{ path: 'members', message: `must hold at most ${MAX_SEGMENT_MEMBERS} members` }]);
  }
}

const badIds = (ids: readonly string[], path: string) =>
  ids.some((id) => typeof id !== 'string' || id.length === 0 || id.length > MAX_MEMBER_LENGTH)
    ? [{ path, message: `must be ids of 1..${MAX_MEMBER_LENGTH} characters` }]
    : [];

/**
 * Defines (creates or replaces) or removes a reusable segment, and changes a member list's members. A member list
 * (`memberAttribute` set) keeps its members across a redefinition unless the definition brings `members` (then
 * they are the new list, as deltas). Members always travel as chunk events of at most MEMBERS_PER_EVENT ids, all of
 * one command in one append. Redefining a segment identically is a no-op.
 */
export function decideSegment(command: SegmentCommand, state: SegmentState, _now: Date): SegmentEvent[] {
  switch (command.type) {
    case 'DefineSegment': {
      const segment = command.data.segment;
      const problems = [...segmentShapeProblems(segment), ...validateSegment(segment)];
      if (typeof segment === 'object' && segment !== null && 'version' in segment) {
        problems.push({ path: 'version', message: 'is set by the service' });
      }
      if (problems.length > 0) throw FlagError.invalid('invalid segment', problems);
      const definition = definitionOf(segment);
      assertSmallDefinition(definition);
      const events: SegmentEvent[] = [];
      if (state === null || !isDeepStrictEqual(definitionOf(state), definition)) events.push({ type: 'SegmentDefined', data: { segment: definition } });
      if (definition.memberAttribute !== undefined) {
        // A list that stays a list keeps its members; one that becomes a list starts empty.
        const current = state?.memberAttribute !== undefined ? (state.members ?? []) : [];
        const wanted = segment.members === undefined ? current : [...new Set(segment.members)];
        assertListSize(definition.key, wanted.length);
        const keep = new Set(wanted);
        const had = new Set(current);
        events.push(...memberEvents(current.filter((id) => !keep.has(id)), wanted.filter((id) => !had.has(id))));
      }
      return events;
    }
    case 'ChangeSegmentMembers': {
      const { key, add, remove } = command.data;
      if (state === null) throw new FlagError(FlagErrorCodes.segmentNotFound, `segment ${key} does not exist`, { key });
      if (state.memberAttribute === undefined) {
        throw FlagError.invalid(`segment ${key} is not a member list`, [
          { path: 'memberAttribute', message: 'is not set: define the segment with memberAttribute to give it members' },
        ]);
      }
      const problems = [...badIds(add, 'add'), ...badIds(remove, 'remove')];
      if (problems.length > 0) throw FlagError.invalid('invalid members', problems);
      const present = new Set(state.members ?? []);
      const removeSet = new Set(remove);
      const removed = [...removeSet].filter((id) => present.has(id));
      const added = [...new Set(add)].filter((id) => !present.has(id) || removeSet.has(id));
      assertListSize(key, present.size - removed.length + added.length);
      return memberEvents(removed, added);
    }
    case 'RemoveSegment': {
      if (state === null) {
        throw new FlagError(FlagErrorCodes.segmentNotFound, `segment ${command.data.key} does not exist`, { key: command.data.key });
      }
      if (command.usedBy.length > 0) {
        throw new FlagError(FlagErrorCodes.segmentInUse, `segment ${command.data.key} is referenced by flags`, {
          key: command.data.key,
          flags: command.usedBy,
        });
      }
      return [{ type: 'SegmentRemoved', data: {} }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}
