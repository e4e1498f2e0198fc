import type { Authentication, TokenAuthenticator } from './principal.js';
import type { StaticTokenAuthenticator } from './static-token.authenticator.js';
import type { TokenTable } from './token-table.js';

/** The bootstrap admin token (ROLLGATE_ADMIN_TOKEN, principal `admin`), then the issued API tokens. */
export class BearerAuthenticator implements TokenAuthenticator {
  constructor(
    private readonly bootstrap: StaticTokenAuthenticator,
    private readonly tokens: TokenTable,
  ) {}

  authenticate(token: string): Authentication {
    const admin = this.bootstrap.authenticate(token);
    return admin === undefined ? this.tokens.verify(token) : { ok: true, principal: admin };
  }
}
