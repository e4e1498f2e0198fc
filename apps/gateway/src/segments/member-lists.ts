import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { FLAG_COMMANDS, type SegmentCommandResult } from '#rollgate/contracts';
import type { Segment } from '#rollgate/evaluation';
import type { CommandContext } from '../bus/command-context.js';
import { FlagsClient, type PathToHttp } from '../bus/flags.client.js';

/** Most of one bus message for the ids of one command; the rest is the envelope. */
const RUN_SHARE = 0.5;

/**
 * The command id of step `step` of an HTTP request that takes several commands: derived from the request's own, so
 * a retry with the same Idempotency-Key replays every step instead of repeating it.
 */
export const stepCommandId = (commandId: string, step: string): string =>
  `step:${createHash('sha256').update(commandId).update('\n').update(step).digest('hex').slice(0, 40)}`;

/** Ids in runs whose JSON takes at most `maxBytes` each, in order. */
export function runsOf(ids: readonly string[], maxBytes: number): string[][] {
  const runs: string[][] = [];
  let run: string[] = [];
  let bytes = 2;
  for (const id of ids) {
    const size = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (run.length > 0 && bytes + size > maxBytes) {
      runs.push(run);
      run = [];
      bytes = 2;
    }
    run.push(id);
    bytes += size;
  }
  if (run.length > 0 || runs.length === 0) runs.push(run);
  return runs;
}

/**
 * Member lists over the bus: a list of up to 100 000 ids can be larger than one NATS message, so it goes as one
 * command when it fits and as a sequence of commands otherwise (the flags service appends each one's chunk events
 * in one transaction). Every step after the first has a command id derived from the request's, so the whole
 * sequence is idempotent under the request's Idempotency-Key.
 */
@Injectable()
export class MemberLists {
  constructor(private readonly flags: FlagsClient) {}

  private runBytes(): number {
    return Math.floor(this.flags.maxRequestBytes() * RUN_SHARE);
  }

  /**
   * Defines a segment and, for a member list, its members: `members` become the list (absent: it keeps the ones it
   * has). When they do not fit one command, the first run goes with the definition and the rest follow as additions,
   * so readers may see the list grow until the last step.
   */
  async define(
    segment: Omit<Segment, 'version' | 'members'>,
    members: readonly string[] | undefined,
    ctx: CommandContext,
    pathToHttp?: PathToHttp,
  ): Promise<SegmentCommandResult> {
    const runs = members === undefined ? [undefined] : runsOf([...new Set(members)], this.runBytes());
    let result = await this.flags.command<SegmentCommandResult>(
      FLAG_COMMANDS.defineSegment,
      { segment: runs[0] === undefined ? segment : { ...segment, members: runs[0] } },
      ctx,
      pathToHttp,
    );
    for (let i = 1; i < runs.length; i++) {
      result = await this.flags.command<SegmentCommandResult>(
        FLAG_COMMANDS.changeSegmentMembers,
        { key: segment.key, add: runs[i], remove: [] },
        { ...withoutVersion(ctx), commandId: stepCommandId(ctx.commandId, `members-${i}`) },
      );
    }
    return result;
  }

  /** Adds and removes members: removals first, then additions, in as many commands as they need. */
  async change(key: string, add: readonly string[], remove: readonly string[], ctx: CommandContext): Promise<SegmentCommandResult> {
    const steps = [
      ...(remove.length === 0 ? [] : runsOf(remove, this.runBytes()).map((run) => ({ add: [] as string[], remove: run }))),
      ...runsOf(add, this.runBytes()).filter((run) => run.length > 0 || remove.length === 0).map((run) => ({ add: run, remove: [] as string[] })),
    ];
    let result: SegmentCommandResult | undefined;
    for (const [i, step] of steps.entries()) {
      const stepCtx = i === 0 ? ctx : { ...withoutVersion(ctx), commandId: stepCommandId(ctx.commandId, `members-${i}`) };
      result = await this.flags.command<SegmentCommandResult>(FLAG_COMMANDS.changeSegmentMembers, { key, ...step }, stepCtx);
    }
    return result!;
  }
}

/** Only the first step carries If-Match: the later ones follow it. */
const withoutVersion = (ctx: CommandContext): CommandContext => {
  const { expectedVersion: _expectedVersion, ...rest } = ctx;
  return rest;
};
