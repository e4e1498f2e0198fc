import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { LATENCY_BUCKETS_MS, subjects, type OutcomeBatch, type OutcomeCohort } from '#rollgate/contracts';

export interface CohortSpec {
  requests: number;
  /** Distinct users with an error (each erring once unless `errors` says more). */
  errorUsers: number;
  errors?: number;
  /** Every request's latency (ms); default 20. */
  latencyMs?: number;
}

const cohort = (variant: string, spec: CohortSpec): OutcomeCohort => {
  const buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  const latency = spec.latencyMs ?? 20;
  const index = LATENCY_BUCKETS_MS.findIndex((bound) => latency <= bound);
  buckets[index === -1 ? LATENCY_BUCKETS_MS.length : index] = spec.requests;
  return {
    variant,
    exposures: spec.requests,
    requests: spec.requests,
    errors: spec.errors ?? spec.errorUsers,
    errorUnits: spec.errorUsers,
    errorUnitsCapped: false,
    latencyBuckets: buckets,
    latencySumMs: latency * spec.requests,
  };
};

/** One client's window of a boolean flag (cohorts on and off), as the SDK's aggregator publishes it. */
export function outcomeBatch(
  flagKey: string,
  cohorts: Record<string, CohortSpec>,
  environment = 'production',
  windowMs = 1_000,
): OutcomeBatch {
  return {
    schema: 1,
    batchId: randomUUID(),
    clientId: 'int-spec',
    environment,
    flagKey,
    windowStart: new Date(Date.now() - windowMs).toISOString(),
    windowMs,
    cohorts: Object.entries(cohorts).map(([variant, spec]) => cohort(variant, spec)),
    droppedWindows: 0,
  };
}

export async function publishBatches(nc: NatsConnection, batches: readonly OutcomeBatch[]): Promise<void> {
  for (const batch of batches) nc.publish(subjects.outcomes(batch.environment, batch.flagKey), JSON.stringify(batch));
  await nc.flush();
}
