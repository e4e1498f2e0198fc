import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  AnalyticsQuery,
  AuditQuery,
  EvaluateFlagQuery,
  FLAG_QUERIES,
  FlagHistoryQuery,
  FlagKeyQuery,
  ListFlagsQuery,
  queueGroup,
  SegmentMembersQuery,
  SegmentsQuery,
  SnapshotQuery,
  subjects,
  type AnalyticsResult,
  type AuditEntry,
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
import { ReplySizeInterceptor } from '../reply-size.interceptor.js';
import { FlagStateQuery } from './flag-state.query.js';

const QUEUE = { queue: queueGroup('flags') };
const query = (noun: string): string => subjects.query('flags', noun);

/** `rg.qry.flags.<noun>`: the query object itself in (no envelope), raw Reply out. */
@Controller()
export class FlagQueryNatsController {
  constructor(
    private readonly state: FlagStateQuery,
    private readonly audits: AuditQueries,
    private readonly evaluation: EvaluationService,
    private readonly env: FlagsEnv,
    private readonly replies: ReplySizeInterceptor,
  ) {}

  @MessagePattern(query(FLAG_QUERIES.get), QUEUE)
  get(@Payload() request: FlagKeyQuery): Promise<FlagView> {
    return this.state.get(request);
  }

  @MessagePattern(query(FLAG_QUERIES.list), QUEUE)
  list(@Payload() request: ListFlagsQuery): Promise<FlagView[]> {
    return this.state.list(request);
  }

  /** The whole snapshot (refused by ReplySizeInterceptor when it cannot fit), or one page of it (`paged`, `cursor`). */
  @MessagePattern(query(FLAG_QUERIES.snapshot), QUEUE)
  snapshot(@Payload() request: SnapshotQuery): Promise<FlagSnapshot | FlagSnapshotPage> {
    if (request.paged !== true && request.cursor === undefined) return this.state.snapshot(request.environment);
    return this.state.snapshotPage(request.environment, request.cursor, Math.min(request.pageBytes ?? this.env.ROLLGATE_FLAGS_SNAPSHOT_PAGE_BYTES, this.replies.maxReplyBytes()));
  }

  @MessagePattern(query(FLAG_QUERIES.segments), QUEUE)
  segments(@Payload() request: SegmentsQuery): Promise<SegmentView[]> {
    return this.state.segments(request);
  }

  @MessagePattern(query(FLAG_QUERIES.segmentMembers), QUEUE)
  segmentMembers(@Payload() request: SegmentMembersQuery): Promise<SegmentMembersPage> {
    return this.state.segmentMembers(request, this.replies.maxReplyBytes());
  }

  @MessagePattern(query(FLAG_QUERIES.history), QUEUE)
  history(@Payload() request: FlagHistoryQuery): Promise<Page<AuditEntry>> {
    return this.audits.history(request);
  }

  @MessagePattern(query(FLAG_QUERIES.audit), QUEUE)
  audit(@Payload() request: AuditQuery): Promise<Page<AuditEntry>> {
    return this.audits.audit(request);
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
