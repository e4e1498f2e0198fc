import { foldEvents } from '#rollgate/commands';
import { RollgateError } from '#rollgate/platform';
import {
  apiTokenAggregate,
  decideApiToken,
  TOKEN_MAX_LIFETIME_SECONDS,
  type ApiTokenEvent,
  type ApiTokenState,
  type IssueApiToken,
} from './api-token.decider.js';
import { generateApiToken, hashApiToken } from './api-token.secret.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ID = '0123456789abcdef';

const issue = (data: Partial<IssueApiToken['data']> = {}): IssueApiToken => ({
  type: 'IssueApiToken',
  data: {
    tokenId: ID,
    name: 'ci',
    role: 'reader',
    tokenHash: hashApiToken(generateApiToken(ID)),
    issuedBy: 'admin',
    ...data,
  },
});

/** Given events, the state they fold to. */
const given = (events: ApiTokenEvent[]): ApiTokenState =>
  foldEvents(
    apiTokenAggregate,
    events.map((event, i) => ({ streamId: `token-${ID}`, streamVersion: i + 1, ...event })),
  ).state;

const problemsOf = (fn: () => unknown): Array<{ path: string; message: string }> => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RollgateError);
    expect((error as RollgateError).code).toBe('GENERIC.VALIDATION');
    return ((error as RollgateError).details as { problems: Array<{ path: string; message: string }> }).problems;
  }
  throw new Error('no error thrown');
};

describe(decideApiToken.name, () => {
  it('issues a token with who, when and no expiry; the fold gives the token as the table and read model see it', () => {
    const command = issue();
    const events = decideApiToken(command, null, NOW);
    expect(events).toEqual([
      {
        type: 'ApiTokenIssued',
        data: {
          tokenId: ID,
          name: 'ci',
          role: 'reader',
          tokenHash: command.data.tokenHash,
          issuedAt: NOW.toISOString(),
          expiresAt: null,
          issuedBy: 'admin',
        },
      },
    ]);
    expect(given(events)).toMatchObject({
      id: ID,
      role: 'reader',
      issuedBy: 'admin',
      revokedAt: null,
      revokedBy: null,
      version: 1,
    });
  });

  it('computes expires_in from the clock and keeps expires_at as given', () => {
    expect(decideApiToken(issue({ expiresInSeconds: 90 }), null, NOW)[0]!.data).toMatchObject({
      expiresAt: '2026-03-01T12:01:30.000Z',
    });
    expect(decideApiToken(issue({ expiresAt: '2026-03-02T00:00:00Z' }), null, NOW)[0]!.data).toMatchObject({
      expiresAt: '2026-03-02T00:00:00.000Z',
    });
  });

  it.each<[string, string, Partial<IssueApiToken['data']>]>([
    ['an expiry in the past', 'expires_at', { expiresAt: '2026-03-01T11:59:59Z' }],
    ['an expiry of now', 'expires_at', { expiresAt: NOW.toISOString() }],
    ['an expiry past ten years', 'expires_at', { expiresAt: '2036-03-02T00:00:00Z' }],
    ['both expiries', 'expires_at', { expiresAt: '2026-03-02T00:00:00Z', expiresInSeconds: 60 }],
    ['a zero lifetime', 'expires_in', { expiresInSeconds: 0 }],
    ['a lifetime past ten years', 'expires_in', { expiresInSeconds: TOKEN_MAX_LIFETIME_SECONDS + 1 }],
    ['an unknown role', 'role', { role: 'root' as never }],
    ['a name too long', 'name', { name: 'n'.repeat(101) }],
    ['a blank name', 'name', { name: '   ' }],
    ['a control character in the name', 'name', { name: 'ci\u0007' }],
    ['a hash that is no sha256', 'token_hash', { tokenHash: 'plain-secret' }],
  ])('refuses %s with GENERIC.VALIDATION at %s', (_, path, data) => {
    expect(problemsOf(() => decideApiToken(issue(data), null, NOW)).map((p) => p.path)).toContain(path);
  });

  it('refuses to issue over an existing token', () => {
    const state = given(decideApiToken(issue(), null, NOW));
    expect(() => decideApiToken(issue(), state, NOW)).toThrow(
      expect.objectContaining({ code: 'TOKENS.ALREADY_EXISTS' }),
    );
  });

  it('revokes once, with who and when; revoking again decides nothing; an unknown token is TOKENS.NOT_FOUND', () => {
    const issued = decideApiToken(issue(), null, NOW);
    const later = new Date(NOW.getTime() + 60_000);
    const revoked = decideApiToken(
      { type: 'RevokeApiToken', data: { tokenId: ID, revokedBy: 'token:aaaaaaaaaaaaaaaa' } },
      given(issued),
      later,
    );
    expect(revoked).toEqual([
      {
        type: 'ApiTokenRevoked',
        data: { tokenId: ID, revokedAt: later.toISOString(), revokedBy: 'token:aaaaaaaaaaaaaaaa' },
      },
    ]);
    const state = given([...issued, ...revoked]);
    expect(state).toMatchObject({ revokedAt: later.toISOString(), revokedBy: 'token:aaaaaaaaaaaaaaaa', version: 2 });
    expect(decideApiToken({ type: 'RevokeApiToken', data: { tokenId: ID, revokedBy: 'admin' } }, state, later)).toEqual(
      [],
    );
    expect(() =>
      decideApiToken({ type: 'RevokeApiToken', data: { tokenId: ID, revokedBy: 'admin' } }, null, NOW),
    ).toThrow(expect.objectContaining({ code: 'TOKENS.NOT_FOUND' }));
  });
});

describe('environment scope', () => {
  it('a client token may be scoped to one environment, which its state keeps; older tokens are unscoped', () => {
    const [event] = decideApiToken(issue({ role: 'client', environment: 'staging' }), null, NOW);
    expect(event!.data).toMatchObject({ role: 'client', environment: 'staging' });
    expect(given([event!])).toMatchObject({ environment: 'staging' });
    const [unscoped] = decideApiToken(issue({ role: 'client' }), null, NOW);
    expect(unscoped!.data).not.toHaveProperty('environment');
    expect(given([unscoped!])).toMatchObject({ environment: null });
  });

  it('refuses a scope on another role, and a malformed environment', () => {
    expect(problemsOf(() => decideApiToken(issue({ role: 'reader', environment: 'staging' }), null, NOW))).toEqual([
      { path: 'environment', message: 'only a client token is scoped to an environment' },
    ]);
    expect(problemsOf(() => decideApiToken(issue({ role: 'client', environment: 'no spaces' }), null, NOW)).map((p) => p.path)).toEqual(['environment']);
  });
});
