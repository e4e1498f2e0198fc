import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API tokens are `rg_<id>_<secret>`: `id` is 16 hex digits (the token's id, its stream `token-<id>`, and with
 * `rg_` the prefix shown in lists), `secret` 32 random bytes in base64url (256 bits). Only the SHA-256 of the
 * whole token is stored: a fast hash is right for a secret of this entropy (nothing to brute-force), and a salt or
 * a slow KDF would only cost time on every request.
 */
export const TOKEN_ID_PATTERN = /^[0-9a-f]{16}$/;
const TOKEN_PATTERN = /^rg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const TOKEN_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;
const SECRET_BYTES = 32;

export interface ParsedToken {
  id: string;
  token: string;
}

/**
 * The token id a command id stands for: the same Idempotency-Key names the same token (so a retried issue finds
 * its first result), and without a key the command id is a fresh uuid, so the id is random.
 */
export const tokenIdFor = (commandId: string): string =>
  createHash('sha256').update('rollgate:api-token-id\n').update(commandId).digest('hex').slice(0, 16);

/** `rg_<id>`: what lists show and what an operator greps logs and secret stores for. */
export const tokenPrefixOf = (id: string): string => `rg_${id}`;

/** A new token for `id`, with a fresh 256-bit secret. */
export const generateApiToken = (id: string): string => {
  if (!TOKEN_ID_PATTERN.test(id)) throw new Error(`not a token id: ${id}`);
  return `${tokenPrefixOf(id)}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
};

/** The id of a well-formed token, or undefined (anything else, including the bootstrap admin token). */
export const parseApiToken = (token: string): ParsedToken | undefined => {
  const match = TOKEN_PATTERN.exec(token);
  return match === null ? undefined : { id: match[1]!, token };
};

/** The 32-byte digest compared on every request. */
export const tokenDigest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** What is stored (in the event and nowhere else): `sha256:<hex>`. */
export const hashApiToken = (token: string): string => `sha256:${tokenDigest(token).toString('hex')}`;

/** The digest inside a stored hash. */
export const digestOfHash = (hash: string): Buffer => {
  if (!TOKEN_HASH_PATTERN.test(hash)) throw new Error('not a token hash');
  return Buffer.from(hash.slice('sha256:'.length), 'hex');
};

/** Constant time in the content: both are 32-byte digests. */
export const digestsEqual = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
