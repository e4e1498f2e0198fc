import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { waitFor } from '#rollgate/testing';
import type { ApiResponse, RollgateSystem } from './system.js';

/** A flag key no other test uses (keys are one NATS token: lower case, digits, _ and -). */
export const uniqueKey = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;

/** `fn` over `items`, at most `limit` at a time, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export const userIds = (count: number, prefix = 'user'): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

export interface Evaluation {
  flag: string;
  value: unknown;
  enabled: boolean;
  variant: string | null;
  reason: string;
  version: number | null;
  rule_id?: string;
  error_code?: string;
}

/** The seed's evaluate call: GET /feature-flags/{key}/evaluate?user_id=&environment= (and as_of when given). */
export async function evaluate(
  system: RollgateSystem,
  key: string,
  userId: string,
  options: { environment?: string; asOf?: string } = {},
): Promise<Evaluation> {
  const query = new URLSearchParams({ user_id: userId, environment: options.environment ?? 'production' });
  if (options.asOf !== undefined) query.set('as_of', options.asOf);
  const response = await system.api<Evaluation>('GET', `/api/v1/feature-flags/${key}/evaluate?${query}`);
  if (response.status !== 200) throw new Error(`evaluate ${key} for ${userId}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Evaluations of many users, in order. */
export const evaluateAll = (
  system: RollgateSystem,
  key: string,
  users: readonly string[],
  options: { environment?: string; asOf?: string } = {},
): Promise<Evaluation[]> => mapLimit(users, 16, (user) => evaluate(system, key, user, options));

export const enabledUsers = (users: readonly string[], evaluations: readonly Evaluation[]): Set<string> =>
  new Set(users.filter((_, i) => evaluations[i]!.enabled));

export const shareEnabled = (evaluations: readonly Evaluation[]): number =>
  evaluations.filter((e) => e.enabled).length / evaluations.length;

/** Rows of es.events, as the service role sees them. */
export async function eventCount(system: RollgateSystem, streamId?: string): Promise<number> {
  const rows = await system.sql<{ n: number }>(
    streamId === undefined ? 'SELECT count(*)::int AS n FROM es.events' : 'SELECT count(*)::int AS n FROM es.events WHERE stream_id = $1',
    streamId === undefined ? [] : [streamId],
  );
  return rows[0]!.n;
}

/** Every audit entry through the gateway, following `next_cursor`. */
export async function auditAll(system: RollgateSystem, query = ''): Promise<Array<Record<string, unknown>>> {
  const entries: Array<Record<string, unknown>> = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(query);
    params.set('limit', '500');
    if (cursor !== null) params.set('cursor', cursor);
    const page = await system.api<{ entries: Array<Record<string, unknown>>; next_cursor: string | null }>('GET', `/api/v1/audit?${params}`);
    if (page.status !== 200) throw new Error(`audit: ${page.status} ${JSON.stringify(page.body)}`);
    entries.push(...page.body.entries);
    cursor = page.body.next_cursor;
  } while (cursor !== null);
  return entries;
}

/** The audit trail is async: wait until it holds an entry for every flag event in the log. */
export async function auditCaughtUp(system: RollgateSystem): Promise<Array<Record<string, unknown>>> {
  const flagEvents = (await system.sql<{ n: number }>("SELECT count(*)::int AS n FROM es.events WHERE stream_id LIKE 'flag-%'"))[0]!.n;
  return waitFor(
    `audit trail with ${flagEvents} entries`,
    async () => {
      const entries = await auditAll(system);
      return entries.length === flagEvents ? entries : undefined;
    },
    { timeoutMs: 15_000 },
  );
}

/** A flag as the API shows it (snake_case), as far as the suites look into it. */
export interface FlagBody {
  version: number;
  environments: Record<string, { enabled: boolean; default_rollout: { type: string; ppm?: number; users?: string[] } }>;
  [field: string]: unknown;
}

export interface HistoryEntry {
  version: number;
  event_type: string;
  before: FlagBody | null;
  after: FlagBody | null;
  [field: string]: unknown;
}

/** A flag's full history through the gateway, once the async audit has caught up to `version`. */
export async function historyUpTo(system: RollgateSystem, key: string, version: number): Promise<HistoryEntry[]> {
  return waitFor(
    `history of ${key} up to version ${version}`,
    async () => {
      const response = await system.api<{ entries: HistoryEntry[] }>('GET', `/api/v1/feature-flags/${key}/history?limit=500`);
      const entries = response.body.entries;
      return entries.length > 0 && entries[entries.length - 1]!.version === version ? entries : undefined;
    },
    { timeoutMs: 15_000 },
  );
}

/** `{code, message, details}` with a stable code (and, for validation errors, a problem at the offending field); the body shows on failure. */
export function expectError(response: ApiResponse, status: number, code: string, field?: string): void {
  const body = response.body as { code?: unknown; message?: unknown; details?: { problems?: Array<{ path?: unknown }> } } | undefined;
  const paths = (body?.details?.problems ?? []).map((problem) => String(problem.path));
  const actual = {
    status: response.status,
    code: body?.code,
    message: typeof body?.message,
    ...(field === undefined ? {} : { field: paths.some((path) => path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`)) }),
  };
  expect({ ...actual, body }).toEqual({ status, code, message: 'string', ...(field === undefined ? {} : { field: true }), body: expect.anything() });
}

/**
 * A request whose body the server may refuse before reading it (413 on Content-Length): the server answers and
 * closes, so a client writing the body meanwhile fails with EPIPE and fetch reports only that. This sends the
 * headers, gives the server a moment to answer, and only then sends the body (when no answer came).
 */
export function sendOversized(system: RollgateSystem, method: string, path: string, body: string): Promise<ApiResponse> {
  const url = new URL(`${system.gatewayUrl}${path}`);
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method,
      headers: { authorization: `Bearer ${system.adminToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON
        }
        const headers = new Headers(Object.entries(response.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])));
        resolve({ status: response.statusCode ?? 0, body: parsed, headers });
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    // Headers first; a server that refuses on Content-Length answers before the body, which then is not sent.
    request.flushHeaders();
    let answered = false;
    request.once('response', () => (answered = true));
    setTimeout(() => (answered ? request.destroy() : request.end(body)), 500);
  });
}
