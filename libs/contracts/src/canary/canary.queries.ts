import { IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, Matches, Max, Min } from 'class-validator';
import { KEY_PATTERN, keyMessage } from '../keys.js';
import type { EventWireMetadata } from '../event-envelope.js';
import { CANARY_ID_PATTERN } from './canary.commands.js';
import { CANARY_STATUSES, type CanaryState, type CanaryStatus, type TestStanding } from './canary.model.js';

/** Nouns of `rg.qry.canary.<noun>`; the body is the query object itself (no envelope), as for flags. */
export const CANARY_QUERIES = {
  get: 'get',
  list: 'list',
  metrics: 'metrics',
  history: 'history',
} as const;

export class CanaryIdQuery {
  @Matches(CANARY_ID_PATTERN, { message: `id must match ${CANARY_ID_PATTERN.source}` })
  id!: string;
}

export class ListCanariesQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('flagKey') })
  flagKey?: string;

  @IsOptional()
  @IsIn(CANARY_STATUSES)
  status?: CanaryStatus;

  /** Only canaries that still own their flag (not promoted, rolled back or cancelled). */
  @IsOptional()
  @IsBoolean()
  active?: boolean;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

/** `rg.qry.canary.metrics`: per-cohort counts over the windows recorded in [since, until), and the judge now. */
export class CanaryMetricsQuery extends CanaryIdQuery {
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;
}

export interface CohortSummary {
  exposures: number;
  requests: number;
  errors: number;
  errorRate: number;
  successRate: number;
  errorUsers: number;
  slowRequests: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  /** Requests per second over the windows counted. */
  throughputPerSecond: number;
}

export interface CanaryMetrics {
  id: string;
  flagKey: string;
  status: CanaryStatus;
  stage: number;
  since: string | null;
  until: string | null;
  windows: number;
  seconds: number;
  canary: CohortSummary;
  baseline: CohortSummary;
  /** The judge over the whole canary (not only the range): each test's log e-value and level. */
  tests: TestStanding[];
  certified: boolean;
  /**
   * Expected seconds to detect a 2× error regression at the traffic of the range (research §3.2,
   * T ≈ ln(k/α) / (KL · λ)); null without traffic or error users to judge with.
   */
  expectedDetectionSeconds: number | null;
}

export interface CanaryHistoryEntry {
  version: number;
  type: string;
  data: unknown;
  metadata: EventWireMetadata;
  recordedAt: string;
}

export interface CanaryHistory {
  id: string;
  entries: CanaryHistoryEntry[];
}

export interface CanaryList {
  canaries: CanaryView[];
}

/** A canary now: its state and the judge's standing (every test's log e-value against its level). */
export interface CanaryView extends CanaryState {
  tests: TestStanding[];
  certified: boolean;
}
