import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { FlagDefinition, Segment } from '#rollgate/evaluation';
import { KEY_PATTERN } from './flag.commands.js';

const KEY_MESSAGE = 'must match ^[a-z0-9][a-z0-9_-]{0,99}$ (lower case, digits, _ and -)';
export const MAX_PAGE_SIZE = 500;

/** `rg.qry.flags.history`: one flag's events as AuditEntry, oldest first, from `fromVersion` (default 1). */
export class FlagHistoryQuery {
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  fromVersion?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

/** `rg.qry.flags.audit`: the audit trail across flags, oldest first; page on with `after` = the last `globalPosition`. */
export class AuditQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key?: string;

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

  /** Cursor: entries with a global position strictly greater than this (decimal string). */
  @IsOptional()
  @Matches(/^[0-9]{1,19}$/, { message: 'after must be a decimal global position' })
  after?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

/** `rg.qry.flags.segments`: every defined segment (optionally one). */
export class SegmentsQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key?: string;
}

export const ANALYTICS_GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type AnalyticsGranularity = (typeof ANALYTICS_GRANULARITIES)[number];

/** `rg.qry.flags.analytics`: evaluation counts in [since, until), grouped per flag, environment, variant, value, bucket. */
export class AnalyticsQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key?: string;

  @IsOptional()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment?: string;

  @IsISO8601({ strict: true })
  since!: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  @IsOptional()
  @IsIn(ANALYTICS_GRANULARITIES)
  granularity?: AnalyticsGranularity;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` (audit) or `fromVersion` (history) for the next page; null on the last page. */
  next: string | null;
}

/** A flag row of the current-state read model (`get`, `list`). */
export interface FlagView {
  flag: FlagDefinition;
  /** Global position of the flag's last event (decimal string). */
  position: string;
  updatedAt: string;
}

export interface FlagSnapshot {
  environment: string;
  /** Highest global position included (decimal string; "0" when empty). */
  position: string;
  flags: FlagDefinition[];
  segments: Segment[];
}

export interface AnalyticsRow {
  key: string;
  environment: string;
  variant: string | null;
  value: string;
  bucket: string;
  count: number;
}

export interface AnalyticsResult {
  granularity: AnalyticsGranularity;
  since: string;
  until: string;
  rows: AnalyticsRow[];
  totals: Array<{ key: string; environment: string; count: number; enabled: number; enabledRate: number }>;
}

/** What `define-segment` and `remove-segment` reply with (the segment is null once removed). */
export interface SegmentCommandResult {
  key: string;
  version: number;
  position: string;
  duplicate: boolean;
  appended: number;
  segment: Segment | null;
}
