import { Controller, Inject } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_CONNECTION } from '#rollgate/messaging';
import { maxReplyBytes } from '#rollgate/service-runtime';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  AnalyticsQuery,
  AuditQuery,
  EvaluateFlagQuery,
  FLAG_QUERIES,
  FlagHistoryQuery,
  FlagKeyQuery,
  FlagsAsOfQuery,
  ListFlagsQuery,
  queueGroup,
  SegmentMembersQuery,
  SegmentsQuery,
  SnapshotQuery,
  subjects,
  type AnalyticsResult,
  type AuditEntry,
  type FlagAsOf,
  type FlagSnapshot,
  type FlagSnapshotPage,
  type SegmentMembersPage,
  type SegmentView,
  type FlagView,
  type Page,
} from '#rollgate/contracts';
import { AuditQueries } from '../audit/audit.query.js';
import { EvaluationService, type EvaluationReply } from '../evaluation/evaluation.service.js';
import { FlagsEnv } from '../flags.config.js';
import { FlagStateQuery } from './flag-state.query.js';

const QUEUE = { queue: queueGroup('flags') };
const PAGE_MARGIN_BYTES = 16 * 1024;
const query = (noun: string): string => subjects.query('flags', noun);

/** `rg.qry.flags.<noun>`: the query object itself in (no envelope), raw Reply out. */
@Controller()
export class FlagQueryNatsController {
  constructor(
    private readonly state: FlagStateQuery,
    private readonly audits: AuditQueries,
    private readonly evaluation: EvaluationService,
    private readonly env: FlagsEnv,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  @MessagePattern(query(FLAG_QUERIES.get), QUEUE)
  get(@Payload() request: FlagKeyQuery): Promise<FlagView> {
    return this.state.get(request);
  }

  @MessagePattern(query(FLAG_QUERIES.list), QUEUE)
  list(@Payload() request: ListFlagsQuery): Promise<FlagView[] | Page<FlagView>> {
    return this.state.list(request, maxReplyBytes(this.nc) - PAGE_MARGIN_BYTES);
  }

  @MessagePattern(query(FLAG_QUERIES.asOf), QUEUE)
  asOf(@Payload() request: FlagsAsOfQuery): Promise<Page<FlagAsOf>> {
    return this.state.asOf(request, maxReplyBytes(this.nc) - PAGE_MARGIN_BYTES);
  }

  /** The whole snapshot (refused by ReplySizeInterceptor when it cannot fit), or one page of it (`paged`, `cursor`). */
  @MessagePattern(query(FLAG_QUERIES.snapshot), QUEUE)
  snapshot(@Payload() request: SnapshotQuery): Promise<FlagSnapshot | FlagSnapshotPage> {
    if (request.paged !== true && request.cursor === undefined) return this.state.snapshot(request.environment);
    // The page's own fields and wrappers are estimated, not measured: keep a margin below what a reply may take.
    const cap = maxReplyBytes(this.nc) - PAGE_MARGIN_BYTES;
    return this.state.snapshotPage(request.environment, request.cursor, Math.min(request.pageBytes ?? this.env.ROLLGATE_FLAGS_SNAPSHOT_PAGE_BYTES, cap));
  }

  @MessagePattern(query(FLAG_QUERIES.segments), QUEUE)
  segments(@Payload() request: SegmentsQuery): Promise<SegmentView[]> {
    return this.state.segments(request);
  }

  @MessagePattern(query(FLAG_QUERIES.segmentMembers), QUEUE)
  segmentMembers(@Payload() request: SegmentMembersQuery): Promise<SegmentMembersPage> {
    return this.state.segmentMembers(request, maxReplyBytes(this.nc));
  }

  @MessagePattern(query(FLAG_QUERIES.history), QUEUE)
  history(@Payload() request: FlagHistoryQuery): Promise<Page<AuditEntry>> {
    return this.audits.history(request, maxReplyBytes(this.nc) - PAGE_MARGIN_BYTES);
  }

  @MessagePattern(query(FLAG_QUERIES.audit), QUEUE)
  audit(@Payload() request: AuditQuery): Promise<Page<AuditEntry>> {
    return this.audits.audit(request, maxReplyBytes(this.nc) - PAGE_MARGIN_BYTES);
  }

  @MessagePattern(query(FLAG_QUERIES.evaluate), QUEUE)
  evaluate(@Payload() request: EvaluateFlagQuery): Promise<EvaluationReply> {
    return this.evaluation.evaluate(request);
  }

  @MessagePattern(query(FLAG_QUERIES.analytics), QUEUE)
  analytics(@Payload() request: AnalyticsQuery): Promise<AnalyticsResult> {
    return this.evaluation.analytics(request);
  }
}
