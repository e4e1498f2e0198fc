import { MAX_CONTEXT_ATTRIBUTES, parseOfrepRequest, statusOfItem, toOfrepItem } from './ofrep.mapping.js';

const json = 'application/json; charset=utf-8';
const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe(parseOfrepRequest.name, () => {
  it('takes the context, its targetingKey standing in for userId as in the SDK provider', () => {
    expect(parseOfrepRequest(json, body({ context: { targetingKey: 'u1', plan: 'pro' } }))).toEqual({
      ok: true,
      context: { targetingKey: 'u1', plan: 'pro', userId: 'u1' },
    });
    expect(parseOfrepRequest('application/json', body({ context: { targetingKey: 'u1', userId: 'other' } }))).toEqual({
      ok: true,
      context: { targetingKey: 'u1', userId: 'other' },
    });
    expect(parseOfrepRequest('application/merge-patch+json', body({ context: {} }))).toEqual({ ok: true, context: {} });
  });

  it.each([
    ['no Content-Type', undefined, body({ context: {} }), 'INVALID_CONTEXT'],
    ['text/plain', 'text/plain', body({ context: {} }), 'INVALID_CONTEXT'],
    ['an empty body', json, Buffer.alloc(0), 'INVALID_CONTEXT'],
    ['no context', json, body({}), 'INVALID_CONTEXT'],
    ['a null context', json, body({ context: null }), 'INVALID_CONTEXT'],
    ['an array context', json, body({ context: [] }), 'INVALID_CONTEXT'],
    ['a body that is an array', json, body([{ context: {} }]), 'INVALID_CONTEXT'],
    ['a numeric targetingKey', json, body({ context: { targetingKey: 7 } }), 'INVALID_CONTEXT'],
    ['too many attributes', json, body({ context: Object.fromEntries(Array.from({ length: MAX_CONTEXT_ATTRIBUTES + 1 }, (_, i) => [`a${i}`, i])) }), 'INVALID_CONTEXT'],
    ['JSON that does not parse', json, Buffer.from('{"context":'), 'PARSE_ERROR'],
  ])('refuses %s with %s', (_name, contentType, payload, errorCode) => {
    const parsed = parseOfrepRequest(contentType, payload);
    expect(parsed).toMatchObject({ ok: false, error: { errorCode } });
  });
});

describe(toOfrepItem.name, () => {
  it('passes value, variant and reason through and puts version and rule in metadata', () => {
    const item = toOfrepItem('f', { value: 'blue', variant: 'b', reason: 'TARGETING_MATCH', flagVersion: 4, ruleId: 'r1' });
    expect(item).toEqual({ key: 'f', value: 'blue', variant: 'b', reason: 'TARGETING_MATCH', metadata: { version: 4, ruleId: 'r1' } });
    expect(statusOfItem(item)).toBe(200);
  });

  it("carries the flag's own metadata, as the SDK's provider does, beside version and rule", () => {
    const item = toOfrepItem('f', { value: true, variant: 'on', reason: 'STATIC', flagVersion: 2, metadata: { team: 'growth', tier: 3, beta: false } });
    expect(item).toMatchObject({ metadata: { team: 'growth', tier: 3, beta: false, version: 2 } });
  });

  it('answers a switched-off flag with its off value and DISABLED (the npm providers break on a value-less item)', () => {
    const item = toOfrepItem('f', { value: false, variant: 'off', reason: 'DISABLED', flagVersion: 1 });
    expect(item).toEqual({ key: 'f', value: false, variant: 'off', reason: 'DISABLED', metadata: { version: 1 } });
    expect(statusOfItem(item)).toBe(200);
  });

  it('keeps false and 0 as values', () => {
    expect(toOfrepItem('f', { value: false, variant: 'on', reason: 'STATIC', flagVersion: 1 })).toMatchObject({ value: false });
    expect(toOfrepItem('f', { value: 0, variant: undefined, reason: 'STATIC', flagVersion: 1 })).toMatchObject({ value: 0 });
  });

  it('answers an unknown flag with FLAG_NOT_FOUND (404) and other errors with their code (400)', () => {
    const missing = toOfrepItem('nope', { value: null, variant: undefined, reason: 'ERROR', flagVersion: undefined, errorCode: 'FLAG_NOT_FOUND' });
    expect(missing).toEqual({ key: 'nope', errorCode: 'FLAG_NOT_FOUND', errorDetails: 'flag nope does not exist' });
    expect(statusOfItem(missing)).toBe(404);
    const invalid = toOfrepItem('f', { value: null, variant: undefined, reason: 'ERROR', flagVersion: 1, errorCode: 'INVALID_CONTEXT' });
    expect(invalid).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    expect(statusOfItem(invalid)).toBe(400);
    // TYPE_MISMATCH is no OFREP code (the provider checks types): a server-side one is GENERAL.
    expect(toOfrepItem('f', { value: null, variant: undefined, reason: 'ERROR', flagVersion: 1, errorCode: 'TYPE_MISMATCH' })).toMatchObject({ errorCode: 'GENERAL' });
  });
});
