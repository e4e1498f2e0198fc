import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CANARY_QUERIES,
  CanaryIdQuery,
  CanaryMetricsQuery,
  ListCanariesQuery,
  canarySubjects,
  queueGroup,
  type CanaryHistory,
  type CanaryList,
  type CanaryMetrics,
  type CanaryView,
} from '#rollgate/contracts';
import { CanaryQueries } from './canary.query.js';
import { CanaryViews, viewOf } from './canary-views.js';

const QUEUE = { queue: queueGroup('canary') };
const query = canarySubjects.query;

/** `rg.qry.canary.<noun>`: the query object in (no envelope), raw Reply out. */
@Controller()
export class CanaryQueryNatsController {
  constructor(
    private readonly views: CanaryViews,
    private readonly queries: CanaryQueries,
  ) {}

  @MessagePattern(query(CANARY_QUERIES.get), QUEUE)
  get(@Payload() request: CanaryIdQuery): Promise<CanaryView> {
    return this.views.get(request.id);
  }

  @MessagePattern(query(CANARY_QUERIES.list), QUEUE)
  async list(@Payload() request: ListCanariesQuery): Promise<CanaryList> {
    return { canaries: (await this.queries.list(request)).map(viewOf) };
  }

  @MessagePattern(query(CANARY_QUERIES.metrics), QUEUE)
  metrics(@Payload() request: CanaryMetricsQuery): Promise<CanaryMetrics> {
    return this.views.metrics(request);
  }

  @MessagePattern(query(CANARY_QUERIES.history), QUEUE)
  history(@Payload() request: CanaryIdQuery): Promise<CanaryHistory> {
    return this.views.history(request.id);
  }
}
