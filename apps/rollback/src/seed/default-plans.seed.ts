import type { CommandEnvelope, PlanInput } from '#rollgate/contracts';
import { RollgateError } from '#rollgate/platform';
import type { PlanService } from '../plan/plan.service.js';
import { RollbackErrorCodes } from '../rollback.errors.js';

/** The seed's default plan, as its SQL inserts it. */
export const DEFAULT_PLANS: readonly (PlanInput & { id: string })[] = [
  {
    id: 'emergency_auto_submit',
    name: 'Emergency Auto Submit Rollback',
    description: 'Emergency rollback for auto-submit',
    rollbackType: 'emergency',
    scope: 'feature_flag',
    targetId: 'auto_submit_enabled',
    steps: [{ type: 'disable_feature_flag', config: { flagId: 'auto_submit_enabled' } }],
  },
];

/** Creates the default plans that do not exist; a fixed command id per plan makes a repeated seed a no-op. */
export async function seedDefaultPlans(plans: PlanService): Promise<string[]> {
  const created: string[] = [];
  for (const plan of DEFAULT_PLANS) {
    const envelope: CommandEnvelope<unknown> = { commandId: `seed:rollback-plan:${plan.id}`, actor: 'system:seed', reason: 'default rollback plan', payload: { plan } };
    try {
      const before = plan.id;
      await plans.create(envelope, { plan });
      created.push(before);
    } catch (error) {
      // Created by someone else under that id before the seed ran: theirs stays.
      if (!(error instanceof RollgateError && error.code === RollbackErrorCodes.planExists)) throw error;
    }
  }
  return created;
}
