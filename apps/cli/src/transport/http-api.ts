import { ErrorCodes } from '#rollgate/contracts';
import type { HttpSettings } from '../config/settings.js';
import { CliCodes, CliError } from '../errors/cli-error.js';

export type QueryValue = string | number | boolean | undefined;

/** One request to the gateway under /api/v1. */
export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  headers?: Record<string, string | undefined>;
}

/** The gateway's answers keep their HTTP status class for errors without a JSON body (a proxy's 502, say). */
const codeOfStatus = (status: number): string =>
  ({ 400: ErrorCodes.validation, 401: ErrorCodes.unauthorized, 403: ErrorCodes.forbidden, 404: ErrorCodes.notFound, 409: ErrorCodes.conflict, 413: ErrorCodes.payloadTooLarge, 503: ErrorCodes.unavailable, 504: ErrorCodes.timeout })[status] ?? `HTTP.${status}`;

/** Talks to the gateway with a bearer token; a non-2xx answer is thrown as a CliError with the server's code. */
export class HttpApi {
  constructor(
    private readonly settings: HttpSettings,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  urlOf(call: HttpCall): string {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(call.query ?? {})) if (value !== undefined) query.set(name, String(value));
    const search = query.toString();
    return `${this.settings.url}/api/v1${call.path}${search ? `?${search}` : ''}`;
  }

  /** What `--dry-run` shows: the request as it would go out, the token left out. */
  describe(call: HttpCall): Record<string, unknown> {
    return {
      transport: 'http',
      method: call.method,
      url: this.urlOf(call),
      headers: { authorization: this.settings.token === undefined ? '(no token)' : 'Bearer ***', ...definedHeaders(call.headers) },
      ...(call.body === undefined ? {} : { body: call.body }),
    };
  }

  async send<Body = unknown>(call: HttpCall): Promise<Body> {
    if (this.settings.token === undefined) throw new CliError(CliCodes.noToken, 'no token: set ROLLGATE_TOKEN or pass --token');
    const url = this.urlOf(call);
    let response: Response;
    try {
      response = await this.fetchFn(url, {
        method: call.method,
        headers: {
          authorization: `Bearer ${this.settings.token}`,
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...definedHeaders(call.headers),
        },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new CliError(ErrorCodes.timeout, `${call.method} ${url} timed out after ${this.settings.timeoutMs} ms`);
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(CliCodes.unreachable, `cannot reach the gateway at ${this.settings.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await response.text();
    let body: unknown = text === '' ? null : text;
    try {
      if (text !== '') body = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the message
    }
    if (response.ok) return body as Body;
    const error = typeof body === 'object' && body !== null ? (body as { code?: unknown; message?: unknown; details?: unknown }) : {};
    throw new CliError(
      typeof error.code === 'string' ? error.code : codeOfStatus(response.status),
      typeof error.message === 'string' ? error.message : `${call.method} ${call.path}: HTTP ${response.status}${typeof body === 'string' ? ` ${body.slice(0, 200)}` : ''}`,
      error.details,
      response.status,
    );
  }
}

const definedHeaders = (headers: Record<string, string | undefined> = {}): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
