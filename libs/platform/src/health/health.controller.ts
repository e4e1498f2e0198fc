import { Controller, Get, Inject, Logger, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { runHealthChecks, type CheckResult, type HealthChecks } from './health-checks.js';

export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');
export const HEALTH_CHECK_TIMEOUT_MS = Symbol('HEALTH_CHECK_TIMEOUT_MS');

@Controller('health')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);

  constructor(
    @Inject(HEALTH_CHECKS) private readonly checks: HealthChecks,
    @Inject(HEALTH_CHECK_TIMEOUT_MS) private readonly timeoutMs: number,
  ) {}

  /** 200 while the process can answer at all; restarts are for a process that cannot. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 when every check passes, else 503 naming the failed ones. */
  @Get('ready')
  async ready(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: 'ok' | 'error'; checks: Record<string, CheckResult> }> {
    const { status, checks, failures } = await runHealthChecks(this.checks, this.timeoutMs);
    for (const [name, error] of Object.entries(failures)) {
      this.logger.warn({ msg: 'Readiness check failed', check: name, err: error });
    }
    void reply.status(status === 'ok' ? 200 : 503);
    return { status, checks };
  }
}
