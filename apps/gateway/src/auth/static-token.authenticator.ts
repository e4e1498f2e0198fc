import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal.js';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * One configured token (ROLLGATE_ADMIN_TOKEN) → the admin principal. Tokens are compared as SHA-256 digests with
 * timingSafeEqual: equal lengths always, so neither the content nor the length leaks through timing.
 * The bootstrap credential: it keeps working beside the issued API tokens (BearerAuthenticator), so an admin can
 * always issue and revoke them.
 */
export class StaticTokenAuthenticator {
  private readonly expected: Buffer;

  constructor(
    token: string,
    private readonly principal: Principal = { id: 'admin', roles: ['admin'] },
  ) {
    this.expected = digest(token);
  }

  authenticate(token: string): Principal | undefined {
    return timingSafeEqual(digest(token), this.expected) ? this.principal : undefined;
  }
}
