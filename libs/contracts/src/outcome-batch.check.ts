import { LATENCY_BUCKETS_MS, type OutcomeBatch, type OutcomeCohort } from './outcomes.js';
import { SUBJECT_TOKEN } from './subjects.js';

/** Bounds of what one batch may hold: a client's window of one flag, never an unbounded payload. */
export const MAX_COHORTS = 1_000;
export const MAX_WINDOW_MS = 86_400_000;
const MAX_ID_LENGTH = 200;
const MAX_VARIANT_LENGTH = 200;

export type BatchCheck = { ok: true; batch: OutcomeBatch } | { ok: false; problem: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;

const COHORT_FIELDS = new Set([
  'variant',
  'exposures',
  'requests',
  'errors',
  'errorUnits',
  'errorUnitsCapped',
  'latencyBuckets',
  'latencySumMs',
]);
const BATCH_FIELDS = new Set([
  'schema',
  'batchId',
  'clientId',
  'environment',
  'flagKey',
  'windowStart',
  'windowMs',
  'cohorts',
  'droppedWindows',
]);

function checkCohort(raw: unknown, index: number): string | OutcomeCohort {
  const at = `cohorts[${index}]`;
  if (!isRecord(raw)) return `${at} is not an object`;
  for (const field of Object.keys(raw)) if (!COHORT_FIELDS.has(field)) return `${at}.${field} is not a cohort field`;
  const { variant, exposures, requests, errors, errorUnits, errorUnitsCapped, latencyBuckets, latencySumMs } = raw;
  if (typeof variant !== 'string' || variant.length === 0 || variant.length > MAX_VARIANT_LENGTH)
    return `${at}.variant must be 1..${MAX_VARIANT_LENGTH} characters`;
  for (const [name, value] of Object.entries({ exposures, requests, errors, errorUnits })) {
    if (!isCount(value)) return `${at}.${name} must be a non-negative integer`;
  }
  if ((errors as number) > (requests as number)) return `${at}.errors exceeds requests`;
  if ((errorUnits as number) > (errors as number)) return `${at}.errorUnits exceeds errors`;
  if (typeof errorUnitsCapped !== 'boolean') return `${at}.errorUnitsCapped must be a boolean`;
  if (
    !Array.isArray(latencyBuckets) ||
    latencyBuckets.length !== LATENCY_BUCKETS_MS.length + 1 ||
    !latencyBuckets.every(isCount)
  ) {
    return `${at}.latencyBuckets must be ${LATENCY_BUCKETS_MS.length + 1} non-negative integers`;
  }
  if ((latencyBuckets as number[]).reduce((sum, n) => sum + n, 0) > (requests as number))
    return `${at}.latencyBuckets count more than requests`;
  if (typeof latencySumMs !== 'number' || !Number.isFinite(latencySumMs) || latencySumMs < 0)
    return `${at}.latencySumMs must be a finite non-negative number`;
  return raw as unknown as OutcomeCohort;
}

/**
 * Checks one `rg.obs.<environment>.<flagKey>` message: the shape of OutcomeBatch, counts that add up, and a body
 * that names the flag and environment of its subject. Pure: each receiver (the flags service's rollups, the canary
 * service's judge) counts and drops what fails.
 */
export function checkOutcomeBatch(subjectEnvironment: string, subjectFlagKey: string, raw: unknown): BatchCheck {
  if (!isRecord(raw)) return { ok: false, problem: 'not a JSON object' };
  for (const field of Object.keys(raw))
    if (!BATCH_FIELDS.has(field)) return { ok: false, problem: `${field} is not a batch field` };
  if (raw['schema'] !== 1) return { ok: false, problem: 'schema must be 1' };
  if (!isId(raw['batchId'])) return { ok: false, problem: `batchId must be 1..${MAX_ID_LENGTH} characters` };
  if (!isId(raw['clientId'])) return { ok: false, problem: `clientId must be 1..${MAX_ID_LENGTH} characters` };
  if (raw['environment'] !== subjectEnvironment || raw['flagKey'] !== subjectFlagKey) {
    return { ok: false, problem: 'environment and flagKey must match the subject' };
  }
  if (!SUBJECT_TOKEN.test(subjectEnvironment) || !SUBJECT_TOKEN.test(subjectFlagKey))
    return { ok: false, problem: 'environment or flag key is not a key' };
  const windowStart = raw['windowStart'];
  if (typeof windowStart !== 'string' || Number.isNaN(Date.parse(windowStart)))
    return { ok: false, problem: 'windowStart must be an ISO-8601 time' };
  const windowMs = raw['windowMs'];
  if (!isCount(windowMs) || windowMs > MAX_WINDOW_MS)
    return { ok: false, problem: `windowMs must be an integer in 0..${MAX_WINDOW_MS}` };
  if (!isCount(raw['droppedWindows'])) return { ok: false, problem: 'droppedWindows must be a non-negative integer' };
  const cohorts = raw['cohorts'];
  if (!Array.isArray(cohorts) || cohorts.length > MAX_COHORTS)
    return { ok: false, problem: `cohorts must be an array of at most ${MAX_COHORTS}` };
  const seen = new Set<string>();
  for (let i = 0; i < cohorts.length; i++) {
    const cohort = checkCohort(cohorts[i], i);
    if (typeof cohort === 'string') return { ok: false, problem: cohort };
    if (seen.has(cohort.variant))
      return { ok: false, problem: `cohorts[${i}].variant ${cohort.variant} appears twice` };
    seen.add(cohort.variant);
  }
  return { ok: true, batch: raw as unknown as OutcomeBatch };
}
