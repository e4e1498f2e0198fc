/** How often a command is decided again after losing a version race, and how long it waits in between. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Wait before attempt `attempt + 1` (attempt counts from 1). */
  delayMs(attempt: number): number;
}

/**
 * Every conflict means another writer succeeded, so N attempts let a burst of N concurrent writers on one stream
 * all apply. The jitter spreads the losers of one round so they do not collide again in lockstep.
 */
export const jitteredRetry = (maxAttempts = 10, capMs = 50): RetryPolicy => ({
  maxAttempts,
  delayMs: (attempt) => Math.random() * Math.min(capMs, 2 ** attempt),
});
