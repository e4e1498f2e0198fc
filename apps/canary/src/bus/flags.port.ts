import {
  FLAG_ERROR_CODES,
  flagSubjects,
  type FlagCommandResult,
  type FlagCommandVerb,
  type FlagDefinition,
  type FlagView,
} from '#rollgate/contracts';
import type { CommandOrigin } from '#rollgate/commands';
import { RollgateError } from '#rollgate/platform';
import type { BusRequests } from './bus-request.js';

/** The flags service as the canary uses it: read a flag, change it through its commands. */
export class FlagsPort {
  constructor(private readonly bus: BusRequests) {}

  /** The flag now, or null when it does not exist. */
  async flag(key: string, correlationId?: string): Promise<FlagDefinition | null> {
    try {
      return (await this.bus.query<FlagView>(flagSubjects.query('get'), { key }, correlationId)).flag;
    } catch (error) {
      if (error instanceof RollgateError && error.code === FLAG_ERROR_CODES.notFound) return null;
      throw error;
    }
  }

  command(verb: FlagCommandVerb, payload: Record<string, unknown>, origin: CommandOrigin): Promise<FlagCommandResult> {
    return this.bus.command<FlagCommandResult>(flagSubjects.command(verb), payload, origin);
  }
}
