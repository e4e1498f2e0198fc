import { CliCodes, CliError } from '../errors/cli-error.js';
import { HttpApi } from './http-api.js';

const settings = { url: 'http://gw:3000', token: 'tok', timeoutMs: 1_000 };

/** A fetch that records the request and answers `status` with `body` (a string is sent as is). */
function answering(status: number, body: unknown): { fetch: typeof fetch; requests: Array<{ url: string; init: RequestInit }> } {
  const requests: Array<{ url: string; init: RequestInit }> = [];
  const fake = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    requests.push({ url: String(url), init: init ?? {} });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  };
  return { fetch: fake as typeof fetch, requests };
}

const failure = (api: HttpApi): Promise<CliError> => api.send({ method: 'GET', path: '/x' }).then(() => Promise.reject(new Error('no error')), (error: CliError) => error);

describe(HttpApi.name, () => {
  it('sends the bearer token, JSON and the write headers given, under /api/v1 with the query it was given', async () => {
    const { fetch, requests } = answering(200, { ok: 1 });
    const api = new HttpApi(settings, fetch);
    const body = await api.send({ method: 'PUT', path: '/feature-flags/a/environments/production', query: { as_of: undefined, limit: 5 }, body: { enabled: false }, headers: { 'x-rollgate-reason': 'why', 'idempotency-key': undefined } });
    expect(body).toEqual({ ok: 1 });
    expect(requests[0]!.url).toBe('http://gw:3000/api/v1/feature-flags/a/environments/production?limit=5');
    expect(requests[0]!.init).toMatchObject({ method: 'PUT', body: '{"enabled":false}', headers: { authorization: 'Bearer tok', 'content-type': 'application/json', 'x-rollgate-reason': 'why' } });
    expect(Object.keys(requests[0]!.init.headers as object)).not.toContain('idempotency-key');
  });

  it("keeps the server's code, message, details and status", async () => {
    const error = await failure(new HttpApi(settings, answering(404, { code: 'FLAGS.NOT_FOUND', message: 'no flag a', details: { key: 'a' } }).fetch));
    expect(error).toMatchObject({ code: 'FLAGS.NOT_FOUND', message: 'no flag a', details: { key: 'a' }, status: 404 });
  });

  it('names an answer without a JSON error body by its status (a proxy in between)', async () => {
    expect(await failure(new HttpApi(settings, answering(502, '<html>bad gateway</html>').fetch))).toMatchObject({ code: 'HTTP.502', status: 502, message: expect.stringContaining('HTTP 502') });
    expect(await failure(new HttpApi(settings, answering(401, '').fetch))).toMatchObject({ code: 'GENERIC.UNAUTHORIZED' });
  });

  it('a gateway that cannot be reached is CLI.UNREACHABLE; a slow one GENERIC.TIMEOUT', async () => {
    const refused = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }) as typeof fetch;
    expect(await failure(new HttpApi(settings, refused))).toMatchObject({ code: CliCodes.unreachable, message: 'cannot reach the gateway at http://gw:3000: ECONNREFUSED' });
    const slow = (async () => {
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    }) as typeof fetch;
    expect(await failure(new HttpApi(settings, slow))).toMatchObject({ code: 'GENERIC.TIMEOUT' });
  });

  it('refuses to send without a token, and describes a request with the token hidden', async () => {
    const { fetch, requests } = answering(200, {});
    await expect(new HttpApi({ ...settings, token: undefined }, fetch).send({ method: 'GET', path: '/x' })).rejects.toMatchObject({ code: CliCodes.noToken });
    expect(requests).toEqual([]);
    expect(new HttpApi(settings, fetch).describe({ method: 'DELETE', path: '/tokens/ab', headers: { 'x-rollgate-reason': 'r' } })).toEqual({
      transport: 'http',
      method: 'DELETE',
      url: 'http://gw:3000/api/v1/tokens/ab',
      headers: { authorization: 'Bearer ***', 'x-rollgate-reason': 'r' },
    });
  });
});
