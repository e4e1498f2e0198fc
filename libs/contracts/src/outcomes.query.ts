import { IsIn, IsISO8601, IsOptional, Matches } from 'class-validator';
import { KEY_PATTERN, keyMessage } from './keys.js';
import { OUTCOME_GRANULARITIES, type OutcomeGranularity } from './outcomes.js';

// Apart from outcomes.ts: the SDK imports the batch wire types and LATENCY_BUCKETS_MS, and must not load class-validator.
export class OutcomesQuery {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment?: string;

  @IsISO8601({ strict: true })
  since!: string;

  /** Default since + 1 day. */
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  /** Width of the rows' windows; default minute (the stored resolution). */
  @IsOptional()
  @IsIn(OUTCOME_GRANULARITIES)
  granularity?: OutcomeGranularity;
}
