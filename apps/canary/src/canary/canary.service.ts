import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  type AbortCanaryPayload,
  type CanaryCommandResult,
  type CanaryState,
  type CommandEnvelope,
  type CreateCanaryPayload,
  type EndCanaryPayload,
  type PauseCanaryPayload,
  type PriorFlagState,
  type PromoteCanaryPayload,
  type ResumeCanaryPayload,
  type RollbackCanaryPayload,
  type StartCanaryPayload,
} from '#rollgate/contracts';
import type { CommandOrigin, CommandOutcome } from '#rollgate/commands';
import { FlagsPort } from '../bus/flags.port.js';
import { CanaryQueries } from '../read-model/canary.query.js';
import type { CanaryAggregateState } from './canary.aggregate.js';
import type { CanaryCommand } from './canary.decider.js';
import { CanaryError, CanaryErrorCodes } from './canary.errors.js';
import { planCanary } from './canary.plan.js';
import { CanaryReactor } from './canary.reactor.js';
import { CanaryRecorder } from './canary.recorder.js';

/** A UUID-shaped id derived from a command id: a repeated create lands on the same stream (and is a duplicate). */
export const canaryIdOf = (commandId: string): string => {
  const hex = createHash('sha256').update(`rollgate-canary\n${commandId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

const originOf = (envelope: CommandEnvelope<unknown>): CommandOrigin => envelope;

/** Who the seed's `started_by` / `promoted_by` / `rolled_back_by` name, else the authenticated actor. */
const byOf = (envelope: CommandEnvelope<unknown>, named: string | undefined): string => named ?? envelope.actor;

/** Something that wants to know each state the service produces (the monitor's working set). */
export const CANARY_TRACKER = Symbol('CANARY_TRACKER');
export interface CanaryTracker {
  track(state: CanaryState | null): void;
}

/**
 * Canary commands on the command core: the operator's decisions are appended, then whatever they ask of the flag
 * (stage 0 at start, the promotion, the restore) is driven before the reply, so the caller sees the flag changed
 * or the reason it could not be. Creating reads the flag to plan against it; starting reads it again to record
 * the state a rollback restores.
 */
@Injectable()
export class CanaryService {
  private tracker: CanaryTracker | undefined;

  constructor(
    private readonly recorder: CanaryRecorder,
    private readonly reactor: CanaryReactor,
    private readonly flags: FlagsPort,
    private readonly queries: CanaryQueries,
  ) {}

  /** Set once by the runtime (the monitor is built after the service). */
  trackWith(tracker: CanaryTracker): void {
    this.tracker = tracker;
  }

  async create(envelope: CommandEnvelope<unknown>, payload: CreateCanaryPayload): Promise<CanaryCommandResult> {
    const id = payload.id ?? canaryIdOf(envelope.commandId);
    const outcome = await this.recorder.handle(
      id,
      async () => {
        const flag = await this.flags.flag(payload.flagKey, envelope.correlationId);
        return { type: 'CreateCanary', data: { canary: planCanary(payload, id, flag), by: envelope.actor } };
      },
      originOf(envelope),
      { commandType: 'CreateCanary', command: payload },
    );
    return this.reply(outcome);
  }

  async start(envelope: CommandEnvelope<unknown>, payload: StartCanaryPayload): Promise<CanaryCommandResult> {
    const outcome = await this.recorder.handle(
      payload.id,
      async (state) => ({
        type: 'StartCanary',
        data: { prior: await this.priorOf(state, payload.id), by: byOf(envelope, payload.startedBy) },
      }),
      originOf(envelope),
      { commandType: 'StartCanary', command: payload },
    );
    const result = await this.driven(outcome);
    if (result.canary.status === 'cancelled' && result.canary.startError !== undefined && !outcome.duplicate) {
      throw new CanaryError(
        CanaryErrorCodes.flagConflict,
        `flag ${result.canary.flagKey} changed while canary ${payload.id} started: nothing was applied, the canary is cancelled`,
        { canary: result.canary, cause: result.canary.startError },
      );
    }
    return result;
  }

  async promote(envelope: CommandEnvelope<unknown>, payload: PromoteCanaryPayload): Promise<CanaryCommandResult> {
    const id = payload.id ?? (await this.activeOn(payload.flagKey!)).id;
    return this.command(id, envelope, {
      type: 'PromoteCanary',
      data: {
        by: byOf(envelope, payload.promotedBy),
        override: payload.override === true,
        ...(envelope.reason === undefined ? {} : { reason: envelope.reason }),
      },
    });
  }

  rollback(envelope: CommandEnvelope<unknown>, payload: RollbackCanaryPayload): Promise<CanaryCommandResult> {
    return this.command(payload.id, envelope, {
      type: 'RollbackCanary',
      data: {
        by: byOf(envelope, payload.rolledBackBy),
        cause: 'manual',
        ...(envelope.reason === undefined ? {} : { reason: envelope.reason }),
      },
    });
  }

  abort(envelope: CommandEnvelope<unknown>, payload: AbortCanaryPayload): Promise<CanaryCommandResult> {
    return this.command(payload.id, envelope, {
      type: 'AbortCanary',
      data: { by: envelope.actor, ...(envelope.reason === undefined ? {} : { reason: envelope.reason }) },
    });
  }

  /** Holds a running canary: a pending stage change still lands, but nothing is judged or decided. */
  pause(envelope: CommandEnvelope<unknown>, payload: PauseCanaryPayload): Promise<CanaryCommandResult> {
    return this.command(payload.id, envelope, {
      type: 'PauseCanary',
      data: {
        by: byOf(envelope, payload.pausedBy),
        ...(envelope.reason === undefined ? {} : { reason: envelope.reason }),
      },
    });
  }

  resume(envelope: CommandEnvelope<unknown>, payload: ResumeCanaryPayload): Promise<CanaryCommandResult> {
    return this.command(payload.id, envelope, {
      type: 'ResumeCanary',
      data: {
        by: byOf(envelope, payload.resumedBy),
        ...(envelope.reason === undefined ? {} : { reason: envelope.reason }),
      },
    });
  }

  /** The rollback service's end_canary step: rolled back (default) restores the flag, aborted cancels. */
  end(envelope: CommandEnvelope<unknown>, payload: EndCanaryPayload): Promise<CanaryCommandResult> {
    const because = envelope.reason === undefined ? {} : { reason: envelope.reason };
    return this.command(
      payload.canaryId,
      envelope,
      payload.outcome === 'aborted'
        ? { type: 'AbortCanary', data: { by: envelope.actor, ...because } }
        : { type: 'RollbackCanary', data: { by: envelope.actor, cause: 'rollback_service', ...because } },
    );
  }

  private async command(
    id: string,
    envelope: CommandEnvelope<unknown>,
    command: CanaryCommand,
  ): Promise<CanaryCommandResult> {
    return this.driven(
      await this.recorder.handle(id, command, originOf(envelope), {
        commandType: command.type,
        command: envelope.payload,
      }),
    );
  }

  private async activeOn(flagKey: string): Promise<CanaryState> {
    const active = await this.queries.activeOnFlag(flagKey);
    if (active === undefined)
      throw new CanaryError(CanaryErrorCodes.notFound, `flag ${flagKey} has no active canary`, { flagKey });
    return active;
  }

  /** The flag's environments as the canary is about to change them, with the version they were read at. */
  private async priorOf(state: CanaryAggregateState, id: string): Promise<PriorFlagState> {
    if (state === null) throw CanaryError.notFound(id);
    if (state.status !== 'created') throw CanaryError.invalidState(id, state.status, 'start');
    const flag = await this.flags.flag(state.flagKey);
    if (flag === null)
      throw new CanaryError(CanaryErrorCodes.flagNotFound, `flag ${state.flagKey} does not exist`, {
        flagKey: state.flagKey,
      });
    if (flag.archived === true)
      throw new CanaryError(CanaryErrorCodes.flagArchived, `flag ${state.flagKey} is archived`, {
        flagKey: state.flagKey,
      });
    return {
      flagVersion: flag.version,
      environments: Object.fromEntries(state.environments.map((env) => [env, flag.environments[env] ?? null])),
    };
  }

  private async driven(outcome: CommandOutcome<CanaryAggregateState>): Promise<CanaryCommandResult> {
    const state = outcome.state === null ? null : await this.reactor.drive(outcome.state.id);
    this.tracker?.track(state);
    return { canary: state!, duplicate: outcome.duplicate };
  }

  private reply(outcome: CommandOutcome<CanaryAggregateState>): CanaryCommandResult {
    this.tracker?.track(outcome.state);
    return { canary: outcome.state!, duplicate: outcome.duplicate };
  }
}
