import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { OUTCOME_QUERY, OutcomesQuery, queueGroup, subjects, type OutcomesResult } from '#rollgate/contracts';
import { OutcomeQueries } from './outcome.query.js';

/** `rg.qry.flags.outcomes`: the query object in (no envelope), raw Reply out, like every flags query. */
@Controller()
export class OutcomeNatsController {
  constructor(private readonly queries: OutcomeQueries) {}

  @MessagePattern(subjects.query('flags', OUTCOME_QUERY), { queue: queueGroup('flags') })
  outcomes(@Payload() request: OutcomesQuery): Promise<OutcomesResult> {
    return this.queries.outcomes(request);
  }
}
