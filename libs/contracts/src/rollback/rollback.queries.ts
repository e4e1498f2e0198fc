import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { KEY_PATTERN, keyMessage } from '../keys.js';
import { AUDIT_CURSOR_PATTERN, MAX_PAGE_SIZE } from '../flags/flag.queries.js';
import { ROLLBACK_SCOPES, ROLLBACK_TYPES, type ExecutionStatus, type RollbackScope, type RollbackType } from './rollback.model.js';

/** Nouns of `rg.qry.rollback.<noun>`; the body is the query object itself (no envelope). */
export const ROLLBACK_QUERIES = {
  plan: 'plan',
  plans: 'plans',
  execution: 'execution',
  executions: 'executions',
  metrics: 'metrics',
  audit: 'audit',
} as const;

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['scheduled', 'running', 'succeeded', 'failed', 'cancelled', 'preempted'];

export class PlanQuery {
  @Matches(KEY_PATTERN, { message: keyMessage('id') })
  id!: string;
}

export class ListPlansQuery {
  @IsOptional()
  @IsIn(ROLLBACK_SCOPES)
  scope?: RollbackScope;

  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('targetId') })
  targetId?: string;

  @IsOptional()
  @IsIn(ROLLBACK_TYPES)
  rollbackType?: RollbackType;

  @IsOptional()
  @IsIn(['active', 'archived'])
  status?: 'active' | 'archived';
}

export class ExecutionQuery {
  @Matches(KEY_PATTERN, { message: keyMessage('id') })
  id!: string;
}

export class ListExecutionsQuery {
  @IsOptional()
  @IsIn(EXECUTION_STATUSES)
  status?: ExecutionStatus;

  @IsOptional()
  @IsIn(ROLLBACK_TYPES)
  type?: RollbackType;

  @IsOptional()
  @IsIn(ROLLBACK_SCOPES)
  scope?: RollbackScope;

  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('targetId') })
  targetId?: string;

  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('planId') })
  planId?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

export class RollbackMetricsQuery {
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;
}

/** `rg.qry.rollback.audit`: the rollback service's events as audit entries, oldest first, paged by cursor. */
export class RollbackAuditQuery {
  /** A plan id or an execution id. */
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('id') })
  id?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  actor?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  @IsOptional()
  @Matches(AUDIT_CURSOR_PATTERN, { message: 'after must be the next cursor of a previous page' })
  after?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

export interface RollbackAuditEntry {
  /** `plan` or `execution`. */
  stream: 'plan' | 'execution';
  id: string;
  version: number;
  eventType: string;
  actor: string | null;
  reason: string | null;
  commandId: string | null;
  correlationId: string | null;
  recordedAt: string;
  globalPosition: string;
  change: unknown;
}

/** One row per execution in a list (the steps only counted). */
export interface ExecutionSummary {
  id: string;
  type: RollbackType;
  scope: RollbackScope;
  targetId: string;
  planId: string | null;
  status: ExecutionStatus;
  cause: { kind: string; actor: string; reason?: string };
  steps: { total: number; succeeded: number; failed: number };
  requestedAt: string;
  scheduledFor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  recoveryMs: number | null;
  consistency: 'verified' | 'violated' | null;
}

export interface RollbackMetrics {
  since: string;
  until: string;
  executions: number;
  byType: Record<string, number>;
  byScope: Record<string, number>;
  byOutcome: Record<string, number>;
  /** By cause kind, and the most frequent reasons as given. */
  byCause: Record<string, number>;
  topReasons: Array<{ reason: string; count: number }>;
  /** Finished executions that succeeded, 0..1 (null without any). */
  successRate: number | null;
  recoveryMs: { count: number; p50: number | null; p95: number | null; max: number | null };
  stepDurationsMs: Record<string, { count: number; avg: number; p95: number }>;
  /** Executions whose consistency check found differences (the impact left behind). */
  consistencyViolations: number;
  /** Executions per day in the window. */
  perDay: Array<{ day: string; count: number }>;
}
