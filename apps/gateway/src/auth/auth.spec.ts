import { RollgateError } from '#rollgate/platform';
import { commandContextFrom } from '../bus/command-context.js';
import { StaticTokenAuthenticator } from './static-token.authenticator.js';

describe(StaticTokenAuthenticator.name, () => {
  it('accepts exactly the configured token as the admin principal', () => {
    const auth = new StaticTokenAuthenticator('s3cret-admin-token');
    expect(auth.authenticate('s3cret-admin-token')).toEqual({ id: 'admin', roles: ['admin'] });
    for (const wrong of ['', 's3cret-admin-toke', 's3cret-admin-token ', 'S3CRET-ADMIN-TOKEN', 'x'.repeat(5000)]) {
      expect(auth.authenticate(wrong)).toBeUndefined();
    }
  });
});

describe(commandContextFrom.name, () => {
  it('takes Idempotency-Key, If-Match (quoted, weak or bare) and X-Rollgate-Reason', () => {
    expect(commandContextFrom({ 'idempotency-key': 'abc-1', 'if-match': '"7"', 'x-rollgate-reason': 'why' }, 'admin', 'c1')).toEqual({
      commandId: 'abc-1', actor: 'admin', expectedVersion: 7, reason: 'why', correlationId: 'c1',
    });
    expect(commandContextFrom({ 'if-match': 'W/"3"' }, 'a').expectedVersion).toBe(3);
    expect(commandContextFrom({ 'if-match': '12' }, 'a').expectedVersion).toBe(12);
    expect(commandContextFrom({ 'if-match': '*' }, 'a').expectedVersion).toBeUndefined();
    expect(commandContextFrom({}, 'a').commandId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    [{ 'idempotency-key': 'has space' }],
    [{ 'idempotency-key': 'x'.repeat(201) }],
    [{ 'if-match': 'v3' }],
    [{ 'if-match': ['1', '2'] }],
    [{ 'x-rollgate-reason': 'r'.repeat(1001) }],
  ])('refuses %j with GENERIC.VALIDATION', (headers) => {
    let thrown: unknown;
    try {
      commandContextFrom(headers, 'a');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RollgateError);
    expect((thrown as RollgateError).code).toBe('GENERIC.VALIDATION');
  });
});
