import { Logger } from '@nestjs/common';
import { OUTCOME_QUERY, type OutcomesResult, type RollbackPlan } from '#rollgate/contracts';
import { RollgateError } from '#rollgate/platform';
import type { ExecutionService } from '../execution/execution.service.js';
import type { RollbackQueries } from '../read-model/rollback.query.js';
import type { FlagsPort } from '../steps/flags.port.js';
import { DEFAULT_WINDOW_MINUTES, judgeCriteria } from './criteria.judge.js';

/**
 * Every ROLLBACK_CHECK_INTERVAL seconds (the seed's variable) the leader looks at each active automatic
 * feature_flag plan: the flag's outcomes over the plan's window (`rg.qry.flags.outcomes`), judged against its
 * `rollback_criteria`; a breach starts one automatic execution per plan and window (a busy target skips it).
 */
export class CriteriaWatcher {
  private readonly logger = new Logger('CriteriaWatcher');
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly queries: RollbackQueries,
    private readonly flags: FlagsPort,
    private readonly executions: ExecutionService,
    private readonly options: { intervalMs: number; isLeader: () => boolean; clock: () => Date },
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.checkAll(), this.options.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async checkAll(): Promise<number> {
    if (this.running || !this.options.isLeader()) return 0;
    this.running = true;
    let triggered = 0;
    try {
      const plans = await this.queries.plans({ rollbackType: 'automatic', scope: 'feature_flag', status: 'active' });
      for (const plan of plans) {
        if (await this.check(plan).catch((error: unknown) => (this.logger.warn({ msg: `criteria of plan ${plan.id} not judged`, err: error }), false))) triggered++;
      }
    } finally {
      this.running = false;
    }
    return triggered;
  }

  private async check(plan: RollbackPlan): Promise<boolean> {
    if (plan.criteria === undefined) return false;
    const windowMs = (plan.criteria.windowMinutes ?? DEFAULT_WINDOW_MINUTES) * 60_000;
    const now = this.options.clock().getTime();
    const since = new Date(now - windowMs).toISOString();
    const outcomes = await this.flags.query<OutcomesResult>(OUTCOME_QUERY, {
      key: plan.targetId,
      since,
      until: new Date(now + 60_000).toISOString(),
      ...(plan.criteria.environment === undefined ? {} : { environment: plan.criteria.environment }),
    });
    const judgement = judgeCriteria(outcomes.totals, plan.criteria);
    if (judgement.verdict !== 'breach') return false;
    const windowKey = String(Math.floor(now / windowMs));
    try {
      await this.executions.automatic(plan, windowKey, { ...judgement, since, criteria: plan.criteria });
      return true;
    } catch (error) {
      if (error instanceof RollgateError && error.code === 'ROLLBACK.TARGET_IN_USE') return false;
      throw error;
    }
  }
}
