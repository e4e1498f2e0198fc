/**
 * The load generator of bench:http, in its own process (it must not share the event loop or the core of what it
 * measures more than the machine forces): autocannon against one target, each request with a fresh random user
 * when the target asks for it. Receives a LoadPlan over IPC, replies with the summary.
 */
import autocannon from 'autocannon';

export interface LoadPlan {
  url: string;
  method: 'GET' | 'POST';
  /** `{user}` in the path or body becomes a random user of 100 000 on each request. */
  path: string;
  body?: string;
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  bytesPerRequest: number;
}

const USERS = 100_000;
const withUser = (text: string): string => text.replaceAll('{user}', `user-${Math.floor(Math.random() * USERS)}`);

process.once('message', (plan: LoadPlan) => {
  const dynamic = plan.path.includes('{user}') || (plan.body?.includes('{user}') ?? false);
  const instance = autocannon(
    {
      url: plan.url,
      connections: plan.connections,
      duration: plan.durationSeconds,
      requests: [
        {
          method: plan.method,
          path: withUser(plan.path),
          headers: plan.headers,
          ...(plan.body === undefined ? {} : { body: withUser(plan.body) }),
          ...(dynamic
            ? {
                setupRequest: (request: autocannon.Request) => ({
                  ...request,
                  path: withUser(plan.path),
                  ...(plan.body === undefined ? {} : { body: withUser(plan.body) }),
                }),
              }
            : {}),
        },
      ],
    },
    (error, result) => {
      if (error) throw error;
      const total = result.requests.total || 1;
      process.send!({
        requestsPerSecond: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        bytesPerRequest: Math.round(result.throughput.total / total),
      } satisfies LoadResult);
    },
  );
  process.once('SIGTERM', () => instance.stop());
});
