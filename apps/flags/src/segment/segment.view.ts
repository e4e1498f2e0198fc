import type { SegmentView } from '#rollgate/contracts';
import type { Segment } from '#rollgate/evaluation';

/** A segment as replies show it: a member list without its members (they may be 100 000), with their count. */
export const segmentView = (segment: Segment, memberCount = segment.members?.length ?? 0): SegmentView => {
  const { members: _members, ...definition } = segment;
  return segment.memberAttribute === undefined ? definition : { ...definition, memberCount };
};
