import { jest } from '@jest/globals';
import { OpenFeature, type Client, type EvaluationDetails, type FlagValue } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { RollgateProvider } from '#rollgate/sdk';
import { RollgateSystem, mapLimit } from './harness/index.js';
import { OFREP_ENVIRONMENT, asServedByOfrep, createOfrepFlags, issueToken, ofrepContext, ofrepFetch, ofrepFlags, type OfrepFlag } from './harness/ofrep.js';

jest.setTimeout(120_000);

/**
 * Issue 11 part 1 through the running gateway: the real `@openfeature/ofrep-provider` (npm 0.1.3) evaluates
 * Rollgate's flags exactly as the SDK's own OpenFeature provider does, for 1 000 users (targeting, variants of
 * every type, a switched-off flag, a missing flag, type errors); the bulk route's ETag revalidates (304) until a
 * flag changes; bad input gets the protocol's answers and never a 5xx.
 */
let system: RollgateSystem;
let flags: OfrepFlag[];
let reader: string;
let client: string;
let sdkProvider: RollgateProvider;
const USERS = 1_000;
const RATE = 20;

beforeAll(async () => {
  system = await RollgateSystem.start({
    env: { flags: { ROLLGATE_FLAGS_SEED: 'false' }, gateway: { ROLLGATE_OFREP_RATE_LIMIT: String(RATE) } },
  });
  flags = ofrepFlags(Date.now().toString(36));
  await createOfrepFlags(system, flags);
  reader = await issueToken(system, 'reader');
  client = await issueToken(system, 'client', OFREP_ENVIRONMENT);
  sdkProvider = new RollgateProvider({
    environment: OFREP_ENVIRONMENT,
    ...system.nats.client('sdk'),
    statusIntervalMs: 0,
    outcomes: { enabled: false },
  });
  await OpenFeature.setProviderAndWait('sdk', sdkProvider);
  await OpenFeature.setProviderAndWait('ofrep', new OFREPProvider({ baseUrl: system.gatewayUrl, headers: [['Authorization', `Bearer ${reader}`]] }));
}, 120_000);

afterAll(async () => {
  await OpenFeature.close();
  await system?.stop();
});

type Details = Pick<EvaluationDetails<FlagValue>, 'value' | 'variant' | 'reason' | 'errorCode'>;

async function details(of: Client, key: string, type: OfrepFlag['type'], defaultValue: FlagValue, context: Record<string, string>): Promise<Details> {
  const got =
    type === 'boolean'
      ? await of.getBooleanDetails(key, defaultValue as boolean, context)
      : type === 'string'
        ? await of.getStringDetails(key, defaultValue as string, context)
        : type === 'number'
          ? await of.getNumberDetails(key, defaultValue as number, context)
          : await of.getObjectDetails(key, defaultValue as Record<string, never>, context);
  return { value: got.value, variant: got.variant, reason: got.reason, errorCode: got.errorCode };
}

it(`evaluates like the SDK for ${USERS} users: targeting, variants, a switched-off flag, a missing flag, type errors`, async () => {
  const sdk = OpenFeature.getClient('sdk');
  const ofrep = OpenFeature.getClient('ofrep');
  const cases: Array<[string, OfrepFlag['type'], FlagValue]> = [
    ...flags.map((flag): [string, OfrepFlag['type'], FlagValue] => [flag.key, flag.type, flag.defaultValue as FlagValue]),
    ['no_such_flag', 'string', 'uh-oh'],
    [flags[0]!.key, 'string', 'not a boolean'],
    [flags[1]!.key, 'number', 13],
  ];
  const differences: string[] = [];
  const seen = new Map<string, Set<string>>();
  await mapLimit(Array.from({ length: USERS }, (_, i) => i), 8, async (i) => {
    const context = ofrepContext(i);
    for (const [key, type, defaultValue] of cases) {
      const [expected, actual] = await Promise.all([details(sdk, key, type, defaultValue, context), details(ofrep, key, type, defaultValue, context)]);
      if (JSON.stringify(asServedByOfrep(expected)) !== JSON.stringify(actual)) differences.push(`${key} as ${type} for user-${i}: SDK ${JSON.stringify(expected)}, OFREP ${JSON.stringify(actual)}`);
      const outcomes = seen.get(`${key}:${type}`) ?? new Set<string>();
      outcomes.add(`${actual.reason}/${actual.errorCode ?? actual.variant}`);
      seen.set(`${key}:${type}`, outcomes);
    }
  });
  expect(differences.slice(0, 10)).toEqual([]);
  // The users reached every branch: rule and rollout, each variant, the errors.
  const [bool, string, number, object, off] = flags.map((flag) => [...seen.get(`${flag.key}:${flag.type}`)!].sort());
  expect(bool).toEqual(['SPLIT/off', 'SPLIT/on', 'TARGETING_MATCH/on']);
  expect(string).toEqual(['SPLIT/v1', 'SPLIT/v2', 'SPLIT/v3', 'TARGETING_MATCH/v1']);
  expect(number).toEqual(['SPLIT/v1', 'SPLIT/v2', 'TARGETING_MATCH/v1']);
  expect(object).toEqual(['SPLIT/v1', 'SPLIT/v2', 'TARGETING_MATCH/v1']);
  expect(off).toEqual(['DISABLED/off']);
  expect([...seen.get('no_such_flag:string')!]).toEqual(['ERROR/FLAG_NOT_FOUND']);
  expect([...seen.get(`${flags[0]!.key}:string`)!]).toEqual(['ERROR/TYPE_MISMATCH']);
});

it('answers bulk with every flag and an ETag: 304 while nothing changed, the new value once a flag changed', async () => {
  const context = { context: ofrepContext(5) };
  const first = await ofrepFetch(system, '', client, context);
  expect(first.status).toBe(200);
  expect(first.headers.get('content-type')).toMatch(/^application\/json/);
  const etag = first.headers.get('etag')!;
  const body = (await first.json()) as { flags: Array<{ key: string; value?: unknown; reason: string }> };
  expect(body.flags.map((flag) => flag.key).sort()).toEqual(flags.map((flag) => flag.key).sort());
  expect(body.flags.find((flag) => flag.key === flags[0]!.key)).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });

  for (let i = 0; i < 3; i++) {
    const again = await ofrepFetch(system, '', client, context, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  }
  // Another user's answer is another ETag.
  expect((await ofrepFetch(system, '', client, { context: ofrepContext(6) }, { 'if-none-match': etag })).status).toBe(200);

  const toggled = await system.api('PUT', `/api/v1/feature-flags/${flags[0]!.key}/environments/${OFREP_ENVIRONMENT}`, { enabled: false });
  expect(toggled.status).toBe(200);
  const changed = await ofrepFetch(system, '', client, context, { 'if-none-match': etag });
  expect(changed.status).toBe(200);
  expect(changed.headers.get('etag')).not.toBe(etag);
  const after = (await changed.json()) as typeof body;
  expect(after.flags.find((flag) => flag.key === flags[0]!.key)).toMatchObject({ value: false, reason: 'DISABLED' });
  await system.api('PUT', `/api/v1/feature-flags/${flags[0]!.key}/environments/${OFREP_ENVIRONMENT}`, { enabled: true });
});

it('reads its own writes across replicas with Rollgate-Read-After, and the environment payload keeps its ETag until a flag changes', async () => {
  const path = `/api/v1/environments/${OFREP_ENVIRONMENT}/snapshot`;
  const payload = await system.api('GET', path);
  const etag = payload.headers.get('etag')!;
  expect((await system.api('GET', path, undefined, { 'if-none-match': etag })).status).toBe(304);

  const write = await system.api('PUT', `/api/v1/feature-flags/${flags[1]!.key}/environments/${OFREP_ENVIRONMENT}/rollout`, { rollout: { type: 'percentage', ppm: 500_000 } });
  expect(write.status).toBe(200);
  const readAfter = `${write.body.key}@${write.body.version}`;
  const fresh = await system.api('GET', path, undefined, { 'if-none-match': etag, 'rollgate-read-after': readAfter });
  expect(fresh.status).toBe(200);
  expect(fresh.body.flags.find((flag: { key: string }) => flag.key === flags[1]!.key).version).toBe(write.body.version);
  const single = await ofrepFetch(system, `/${flags[1]!.key}`, client, { context: ofrepContext(1) }, { 'rollgate-read-after': readAfter });
  expect(((await single.json()) as { metadata: { version: number } }).metadata.version).toBe(write.body.version);
  // A version that never comes: the read says so instead of answering stale.
  const never = await system.api('GET', path, undefined, { 'rollgate-read-after': `${flags[1]!.key}@${write.body.version + 100}` });
  expect(never.status).toBe(504);
  expect(never.body.code).toBe('GATEWAY.READ_AFTER_TIMEOUT');
});

describe('bad input gets the protocol answer, never a 5xx', () => {
  const key = () => flags[0]!.key;

  it.each([
    ['no context', () => ofrepFetch(system, `/${key()}`, reader, {}), 400, 'INVALID_CONTEXT'],
    ['a context that is no object', () => ofrepFetch(system, `/${key()}`, reader, { context: 'user-1' }), 400, 'INVALID_CONTEXT'],
    ['a wrong Content-Type', () => ofrepFetch(system, `/${key()}`, reader, { context: {} }, { 'content-type': 'text/plain' }), 400, 'INVALID_CONTEXT'],
    ['a form body', () => ofrepFetch(system, `/${key()}`, reader, 'context=1', { 'content-type': 'application/x-www-form-urlencoded' }), 400, 'INVALID_CONTEXT'],
    ['JSON that does not parse', () => ofrepFetch(system, `/${key()}`, reader, '{"context":'), 400, 'PARSE_ERROR'],
    ['an unknown flag', () => ofrepFetch(system, '/no_such_flag', reader, { context: ofrepContext(1) }), 404, 'FLAG_NOT_FOUND'],
    ['a key that cannot be a flag', () => ofrepFetch(system, `/${encodeURIComponent('no such flag')}`, reader, { context: {} }), 404, 'FLAG_NOT_FOUND'],
    ['too many attributes', () => ofrepFetch(system, `/${key()}`, reader, { context: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, 1])) }), 400, 'INVALID_CONTEXT'],
    ['an oversized context', () => ofrepFetch(system, `/${key()}`, reader, { context: { blob: 'x'.repeat(70_000) } }), 413, 'INVALID_CONTEXT'],
    ['an oversized bulk context', () => ofrepFetch(system, '', reader, { context: { blob: 'x'.repeat(70_000) } }), 413, 'INVALID_CONTEXT'],
    ['bulk without context', () => ofrepFetch(system, '', reader, { other: 1 }), 400, 'INVALID_CONTEXT'],
    ['no token', () => ofrepFetch(system, `/${key()}`, '', { context: {} }, { authorization: '' }), 401, 'GENERAL'],
    ['an unknown token', () => ofrepFetch(system, `/${key()}`, 'rg_0000000000000000_nope', { context: {} }), 401, 'GENERAL'],
    ['a token for another environment', async () => ofrepFetch(system, `/${key()}`, await issueToken(system, 'client', 'staging'), { context: {} }, { 'rollgate-environment': 'production' }), 403, 'GENERAL'],
  ])('%s', async (_name, send, status, errorCode) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ errorCode });
  });

  it('a staging token reads staging only, on every evaluation route', async () => {
    const staging = await issueToken(system, 'client', 'staging');
    const single = await ofrepFetch(system, `/${key()}`, staging, { context: ofrepContext(5) });
    expect(await single.json()).toMatchObject({ key: key(), value: false });
    const headers = { authorization: `Bearer ${staging}` };
    expect((await system.api('GET', `/api/v1/feature-flags/${key()}/evaluate?user_id=u1&environment=production`, undefined, headers)).status).toBe(403);
    expect((await system.api('GET', `/api/v1/feature-flags/${key()}/evaluate?user_id=u1&environment=staging`, undefined, headers)).status).toBe(200);
    expect((await system.api('GET', '/api/v1/environments/production/snapshot', undefined, headers)).status).toBe(403);
  });

  it(`a client token past ${RATE} requests a second gets 429 with Retry-After`, async () => {
    const limited = await issueToken(system, 'client', OFREP_ENVIRONMENT);
    const statuses = await Promise.all(Array.from({ length: RATE * 2 + 5 }, () => ofrepFetch(system, `/${key()}`, limited, { context: {} })));
    const refused = statuses.filter((response) => response.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(statuses.every((response) => response.status === 200 || response.status === 429)).toBe(true);
  });

  it('answers a browser preflight with the headers OFREP needs, and exposes ETag', async () => {
    const preflight = await fetch(`${system.gatewayUrl}/ofrep/v1/evaluate/flags`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,if-none-match' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/If-None-Match/);
    const answer = await ofrepFetch(system, '', client, { context: {} }, { origin: 'http://app.example' });
    expect(answer.headers.get('access-control-expose-headers')).toMatch(/ETag/);
  });
});
