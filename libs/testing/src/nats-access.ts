import type { ConnectionOptions } from '@nats-io/transport-node';
import { natsLogin, readCredentials, type NatsCredentials } from '../../../scripts/nats-auth.mjs';

/** A user of deploy/nats/rollgate.conf. */
export type NatsUser = 'admin' | 'flags' | 'canary' | 'rollback' | 'gateway' | 'operator' | 'sdk';

/** How a test reaches a NATS server that runs Rollgate's configuration: its URL and each user's login. */
export interface NatsAccess {
  readonly url: string;
  /** Connection options for `user` (default admin): servers, user, pass and the user's inbox prefix. */
  options(user?: NatsUser): ConnectionOptions & { servers: string; user: string; pass: string; inboxPrefix: string };
  /** The environment a service process logs in with: NATS_URL, NATS_USER, NATS_PASSWORD. */
  env(user: NatsUser): Record<string, string>;
  /** An SDK client's `servers` and `credentials` for `user` (default sdk). */
  client(user?: NatsUser): { servers: string; credentials: { user: string; password: string } };
}

export function natsAccess(url: string, credentials: NatsCredentials): NatsAccess {
  return {
    url,
    options: (user = 'admin') => {
      const login = natsLogin(credentials, user);
      return { servers: url, user: login.NATS_USER, pass: login.NATS_PASSWORD, inboxPrefix: `_INBOX_${user}` };
    },
    env: (user) => ({ NATS_URL: url, ...natsLogin(credentials, user) }),
    client: (user = 'sdk') => {
      const login = natsLogin(credentials, user);
      return { servers: url, credentials: { user: login.NATS_USER, password: login.NATS_PASSWORD } };
    },
  };
}

/**
 * The NATS that `node scripts/with-infra.mjs` made reachable (NATS_URL, with the users' passwords in
 * ROLLGATE_NATS_CREDENTIALS_FILE). Integration tests share it; each uses its own subjects and streams.
 */
export function sharedNats(): NatsAccess {
  const url = process.env['NATS_URL'];
  const file = process.env['ROLLGATE_NATS_CREDENTIALS_FILE'];
  if (!url || !file) {
    throw new Error('NATS_URL and ROLLGATE_NATS_CREDENTIALS_FILE are not set: run the test under node scripts/with-infra.mjs');
  }
  return natsAccess(url, readCredentials(file));
}
