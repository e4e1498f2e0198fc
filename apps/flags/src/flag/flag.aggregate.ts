import {
  evolveFlag,
  evolveSegment,
  FLAG_EVENT_TYPES,
  SEGMENT_EVENT_TYPES,
  type FlagEvent,
  type FlagState,
  type SegmentEvent,
  type SegmentState,
} from '#rollgate/contracts';
import type { AggregateType } from '#rollgate/commands';

/** The `flag-<key>` streams. */
export const flagAggregate: AggregateType<FlagState, FlagEvent> = {
  name: 'flag',
  area: 'FLAGS',
  eventTypes: new Set(FLAG_EVENT_TYPES),
  initialState: null,
  evolve: evolveFlag,
};

/** The `segment-<key>` streams. */
export const segmentAggregate: AggregateType<SegmentState, SegmentEvent> = {
  name: 'segment',
  area: 'FLAGS',
  eventTypes: new Set(SEGMENT_EVENT_TYPES),
  initialState: null,
  evolve: evolveSegment,
};
