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
  SegmentsQuery,
  SnapshotQuery,
  subjects,
  type AnalyticsResult,
  type AuditEntry,
  type FlagSnapshot,
  type FlagView,
  type Page,
} from '#rollgate/contracts';
import type { Segment } from '#rollgate/evaluation';
import { AuditQueries } from '../audit/audit.query.js';
import { EvaluationService, type EvaluationReply } from '../evaluation/evaluation.service.js';
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
  ) {}

  @MessagePattern(query(FLAG_QUERIES.get), QUEUE)
  get(@Payload() request: FlagKeyQuery): Promise<FlagView> {
    return this.state.get(request);
  }

  @MessagePattern(query(FLAG_QUERIES.list), QUEUE)
  list(@Payload() request: ListFlagsQuery): Promise<FlagView[]> {
    return this.state.list(request);
  }

  @MessagePattern(query(FLAG_QUERIES.snapshot), QUEUE)
  snapshot(@Payload() request: SnapshotQuery): Promise<FlagSnapshot> {
    return this.state.snapshot(request.environment);
  }

  @MessagePattern(query(FLAG_QUERIES.segments), QUEUE)
  segments(@Payload() request: SegmentsQuery): Promise<Segment[]> {
    return this.state.segments(request);
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
