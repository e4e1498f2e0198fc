import { isDeepStrictEqual } from 'node:util';
import type { DefineSegmentPayload, RemoveSegmentPayload, SegmentEvent, SegmentState } from '#rollgate/contracts';
import { validateSegment } from '#rollgate/evaluation';
import { FlagError, FlagErrorCodes } from '../flag/flag.errors.js';
import { segmentShapeProblems } from '../flag/flag.shape.js';

export type SegmentCommand =
  | { type: 'DefineSegment'; data: DefineSegmentPayload }
  /** `usedBy`: keys of the flags whose rules still reference the segment (the service looks them up). */
  | { type: 'RemoveSegment'; data: RemoveSegmentPayload; usedBy: readonly string[] };

export const segmentCommandKey = (command: SegmentCommand): string =>
  command.type === 'DefineSegment' ? String(command.data.segment?.key) : command.data.key;

/** Defines (creates or replaces) or removes a reusable segment. Redefining it identically is a no-op. */
export function decideSegment(command: SegmentCommand, state: SegmentState, _now: Date): SegmentEvent[] {
  switch (command.type) {
    case 'DefineSegment': {
      const segment = command.data.segment;
      const problems = [...segmentShapeProblems(segment), ...validateSegment(segment)];
      if (typeof segment === 'object' && segment !== null && 'version' in segment) {
        problems.push({ path: 'version', message: 'is set by the service' });
      }
      if (problems.length > 0) throw FlagError.invalid('invalid segment', problems);
      if (state !== null) {
        const { version: _version, ...current } = state;
        if (isDeepStrictEqual(JSON.parse(JSON.stringify(current)), JSON.parse(JSON.stringify(segment)))) return [];
      }
      return [{ type: 'SegmentDefined', data: { segment } }];
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
