import { createHash } from 'node:crypto';
import {
  digestOfHash,
  digestsEqual,
  generateApiToken,
  hashApiToken,
  parseApiToken,
  tokenDigest,
  tokenIdFor,
  tokenPrefixOf,
} from './api-token.secret.js';

describe(generateApiToken.name, () => {
  it('makes rg_<16 hex id>_<43 base64url chars>: 256 random bits, a listable prefix, parseable back to its id', () => {
    const id = tokenIdFor('cmd-1');
    const token = generateApiToken(id);
    expect(token).toMatch(/^rg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(`${tokenPrefixOf(id)}_`)).toBe(true);
    expect(Buffer.from(token.slice(`rg_${id}_`.length), 'base64url')).toHaveLength(32);
    expect(parseApiToken(token)).toEqual({ id, token });
  });

  it('never repeats a secret', () => {
    const id = tokenIdFor('cmd-2');
    const secrets = new Set(Array.from({ length: 1_000 }, () => generateApiToken(id)));
    expect(secrets.size).toBe(1_000);
  });

  it('refuses an id that is not 16 hex digits', () => {
    expect(() => generateApiToken('ABCDEF0123456789')).toThrow(/not a token id/);
    expect(() => generateApiToken('abc')).toThrow(/not a token id/);
  });
});

describe(tokenIdFor.name, () => {
  it('names one token per command id (a retried Idempotency-Key finds its token) and differs between ids', () => {
    expect(tokenIdFor('key-a')).toBe(tokenIdFor('key-a'));
    expect(tokenIdFor('key-a')).not.toBe(tokenIdFor('key-b'));
    expect(tokenIdFor('key-a')).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe(parseApiToken.name, () => {
  const token = generateApiToken('0123456789abcdef');

  it.each([
    ['the bootstrap admin token', 'some-long-admin-token-value'],
    ['an upper-case id', token.replace('0123456789abcdef', '0123456789ABCDEF')],
    ['a short secret', token.slice(0, -1)],
    ['a long secret', `${token}x`],
    ['another prefix', token.replace(/^rg_/, 'rx_')],
    ['a space inside', token.replace('_', ' ')],
    ['empty', ''],
  ])('refuses %s', (_, candidate) => {
    expect(parseApiToken(candidate)).toBeUndefined();
  });
});

describe(hashApiToken.name, () => {
  it('stores sha256:<hex> of the whole token and compares digests of equal length in constant time', () => {
    const token = generateApiToken('0123456789abcdef');
    const hash = hashApiToken(token);
    expect(hash).toBe(`sha256:${createHash('sha256').update(token).digest('hex')}`);
    expect(digestsEqual(digestOfHash(hash), tokenDigest(token))).toBe(true);
    expect(digestsEqual(digestOfHash(hash), tokenDigest(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`))).toBe(false);
    expect(digestsEqual(digestOfHash(hash), Buffer.alloc(16))).toBe(false);
    expect(() => digestOfHash('md5:abc')).toThrow(/not a token hash/);
  });
});
