import { ROLLBACK_TRIGGER_SUBJECT, type CanaryRollbackTrigger } from '#rollgate/contracts';
import type { CommandOrigin } from '#rollgate/commands';
import type { BusRequests } from './bus-request.js';

/** The rollback service's trigger contract (`rg.cmd.rollback.trigger`): one automatic execution per decision. */
export class RollbackPort {
  constructor(private readonly bus: BusRequests) {}

  async trigger(request: CanaryRollbackTrigger, origin: CommandOrigin): Promise<{ executionId?: string }> {
    const reply = await this.bus.command<{ id?: string; executionId?: string }>(
      ROLLBACK_TRIGGER_SUBJECT,
      request,
      origin,
    );
    const executionId = reply?.executionId ?? reply?.id;
    return typeof executionId === 'string' ? { executionId } : {};
  }
}
