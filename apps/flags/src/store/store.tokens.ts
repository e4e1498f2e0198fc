/** Which flags' rules reference a segment (refuses removing a segment in use). */
export interface SegmentUsage {
  flagsUsing(segmentKey: string): Promise<string[]>;
}

export const SEGMENT_USAGE = Symbol('SEGMENT_USAGE');
