import { RollgateError } from '../errors/rollgate.error.js';

/** Resolves when the dependency is usable; throws (or rejects) when it is not. */
export type HealthCheck = () => Promise<unknown> | unknown;
export type HealthChecks = Readonly<Record<string, HealthCheck>>;

export type CheckResult = { status: 'ok'; durationMs: number } | { status: 'error'; durationMs: number; error: string };

export interface Readiness {
  status: 'ok' | 'error';
  checks: Record<string, CheckResult>;
  /** The raw failures, for the caller to log; not sent to clients. */
  failures: Record<string, unknown>;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

class CheckTimedOut extends Error {}

const withTimeout = async (check: HealthCheck, timeoutMs: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimedOut(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(check), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Runs every check concurrently, each bounded by the timeout, so a hung dependency cannot hang the probe.
 * A failure's message is shown only for RollgateErrors and timeouts: a driver's message may name hosts or users.
 */
export const runHealthChecks = async (
  checks: HealthChecks,
  timeoutMs: number = DEFAULT_CHECK_TIMEOUT_MS,
): Promise<Readiness> => {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const started = performance.now();
      try {
        await withTimeout(check, timeoutMs);
        return [name, { status: 'ok', durationMs: Math.round(performance.now() - started) }, undefined] as const;
      } catch (error) {
        const shown = error instanceof RollgateError || error instanceof CheckTimedOut ? error.message : 'check failed';
        return [name, { status: 'error', durationMs: Math.round(performance.now() - started), error: shown }, error] as const;
      }
    }),
  );
  const failures = Object.fromEntries(entries.filter(([, result]) => result.status === 'error').map(([n, , e]) => [n, e]));
  return {
    status: Object.keys(failures).length === 0 ? 'ok' : 'error',
    checks: Object.fromEntries(entries.map(([name, result]) => [name, result as CheckResult])),
    failures,
  };
};
