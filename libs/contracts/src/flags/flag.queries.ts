import { MAX_VERSION } from './flag.commands.js';
import { Allow, ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { MAX_SEGMENT_MEMBERS, type FlagDefinition, type Segment } from '#rollgate/evaluation';
import { KEY_PATTERN, keyMessage } from '../keys.js';
import { MAX_SNAPSHOT_PAGE_BYTES, MIN_SNAPSHOT_PAGE_BYTES, SNAPSHOT_CURSOR_PATTERN, type RemovedSegment } from './flag.snapshot.js';

/** Nouns of `rg.qry.flags.<noun>`; the body is the query object itself (no envelope). */
export const FLAG_QUERIES = {
  get: 'get',
  list: 'list',
  /** Many flags as they were at one time, in one read of the log (FlagsAsOfQuery). */
  asOf: 'as-of',
  history: 'history',
  audit: 'audit',
  snapshot: 'snapshot',
  evaluate: 'evaluate',
  segments: 'segments',
  segmentMembers: 'segment-members',
  analytics: 'analytics',
} as const;

export const MAX_PAGE_SIZE = 500;

export const FLAG_STATUSES = ['active', 'archived'] as const;

export class ListFlagsQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  tag?: string;

  @IsOptional()
  @IsIn(FLAG_STATUSES)
  status?: (typeof FLAG_STATUSES)[number];

  /**
   * Answer a Page<FlagView> (by key, as much as one bus reply holds; `next` is the `after` of the next page)
   * instead of every flag at once: 10 000 flags do not fit one reply.
   */
  @IsOptional()
  @IsBoolean()
  paged?: boolean;

  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('after') })
  after?: string;
}

export class FlagKeyQuery {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  /** State as of a past version or time (history and as-of evaluation). */
  @IsOptional()
  @IsISO8601({ strict: true })
  asOf?: string;
}

/** The most keys one `as-of` query names. */
export const MAX_AS_OF_KEYS = 1_000;

/**
 * `rg.qry.flags.as-of`: each named flag as it was at `asOf` (null: it did not exist then), read from the log in one
 * query; with `environment`, each definition carries only that environment. The reply is a Page<FlagAsOf> in the
 * order of `keys`, as much as fits one bus reply: `next` is the first key left out (send the keys from it on again),
 * null when every key was answered.
 */
export class FlagsAsOfQuery {
  @IsISO8601({ strict: true })
  asOf!: string;

  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_AS_OF_KEYS)
  @Matches(KEY_PATTERN, { each: true, message: keyMessage('each of keys') })
  keys!: string[];

  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment?: string;
}

export interface FlagAsOf {
  key: string;
  flag: FlagDefinition | null;
}

/**
 * `rg.qry.flags.snapshot`. Without `paged` or `cursor` the reply is the whole FlagSnapshot in one message (refused
 * with GENERIC.PAYLOAD_TOO_LARGE when it would not fit the bus). With them it is one FlagSnapshotPage: send
 * `paged: true` for the first, then each page's `next` as `cursor` (see flag.snapshot.ts).
 */
export class SnapshotQuery {
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment!: string;

  @IsOptional()
  @IsBoolean()
  paged?: boolean;

  @IsOptional()
  @Matches(SNAPSHOT_CURSOR_PATTERN, { message: 'cursor must be the next of a previous snapshot page' })
  cursor?: string;

  /** The most a page may hold (JSON bytes); the service caps it below the bus's payload limit. */
  @IsOptional()
  @IsInt()
  @Min(MIN_SNAPSHOT_PAGE_BYTES)
  @Max(MAX_SNAPSHOT_PAGE_BYTES)
  pageBytes?: number;
}

export class EvaluateFlagQuery {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment!: string;

  @IsObject()
  context!: Record<string, unknown>;

  /** Returned (reason ERROR) when the flag is unknown or serves no value; any JSON value. */
  @IsOptional()
  @Allow()
  defaultValue?: unknown;

  /** Evaluate as the flag was at this time: what was served then. */
  @IsOptional()
  @IsISO8601({ strict: true })
  asOf?: string;
}

export interface AuditEntry {
  key: string;
  version: number;
  eventType: string;
  actor: string | null;
  reason: string | null;
  commandId: string | null;
  correlationId: string | null;
  recordedAt: string;
  globalPosition: string;
  change: unknown;
  before: FlagDefinition | null;
  after: FlagDefinition | null;
}

/** `rg.qry.flags.history`: one flag's events as AuditEntry, oldest first, from `fromVersion` (default 1). */
export class FlagHistoryQuery {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_VERSION)
  fromVersion?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

/**
 * An audit page cursor: the (transaction id, global position) of the last entry returned, `<tx>.<position>`. The
 * trail is in the log's gap-free order by that pair; clients treat the cursor as opaque.
 */
export const AUDIT_CURSOR_PATTERN = /^[0-9]{1,20}\.[0-9]{1,19}$/;

export interface AuditCursor {
  transactionId: bigint;
  globalPosition: bigint;
}

export const encodeAuditCursor = (cursor: AuditCursor): string => `${cursor.transactionId}.${cursor.globalPosition}`;

/** The pair of a cursor matching AUDIT_CURSOR_PATTERN. */
export const decodeAuditCursor = (cursor: string): AuditCursor => {
  const [transactionId, globalPosition] = cursor.split('.');
  return { transactionId: BigInt(transactionId!), globalPosition: BigInt(globalPosition!) };
};

/** `rg.qry.flags.audit`: the audit trail across flags, oldest first (log order); page on with `after` = the last page's `next`. */
export class AuditQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
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

  /** Cursor (`next` of the previous page): entries strictly after that (transaction id, global position). */
  @IsOptional()
  @Matches(AUDIT_CURSOR_PATTERN, { message: 'after must be the next cursor of a previous page' })
  after?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

/**
 * `rg.qry.flags.segments`: every defined segment (optionally one). A member list comes without its members and
 * with `memberCount`: read them with `segment-members`, a page at a time.
 */
export class SegmentsQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key?: string;
}

/** A segment as the `segments` query answers it. */
export type SegmentView = Segment & { memberCount?: number };

export const MAX_MEMBERS_PAGE = 50_000;

/** `rg.qry.flags.segment-members`: members of a member list from `offset`, at most `limit` (and what fits a reply). */
export class SegmentMembersQuery {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SEGMENT_MEMBERS)
  offset?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_MEMBERS_PAGE)
  limit?: number;
}

export interface SegmentMembersPage {
  key: string;
  /** The segment's stream version the page was read at: pages of another version do not belong together. */
  version: number;
  total: number;
  members: string[];
  /** `offset` of the next page; null on the last. */
  next: number | null;
}

export const ANALYTICS_GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type AnalyticsGranularity = (typeof ANALYTICS_GRANULARITIES)[number];

/** `rg.qry.flags.analytics`: evaluation counts in [since, until), grouped per flag, environment, variant, value, bucket. */
export class AnalyticsQuery {
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key?: string;

  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
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
  /** Segments removed since they were defined, with their stream version: events up to it are not new. */
  removedSegments?: RemovedSegment[];
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

/** What the segment commands reply with (the segment is null once removed; a member list without its members). */
export interface SegmentCommandResult {
  key: string;
  version: number;
  position: string;
  duplicate: boolean;
  appended: number;
  segment: SegmentView | null;
}
