/**
 * scripts/nats-auth.mjs for the built benches: scripts/ is plain ESM outside dist, so it is imported by path.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');
export const natsAuth: typeof import('../scripts/nats-auth.mjs') = await import(
  pathToFileURL(resolve(ROOT, 'scripts/nats-auth.mjs')).href
);

/** The admin login of the NATS that scripts/with-infra.mjs made reachable (NATS_URL, credentials file). */
export function infraNatsAdmin(): { servers: string; user: string; pass: string; inboxPrefix: string } {
  const url = process.env['NATS_URL'];
  const file = process.env['ROLLGATE_NATS_CREDENTIALS_FILE'];
  if (!url || !file) throw new Error('run under node scripts/with-infra.mjs (NATS_URL, ROLLGATE_NATS_CREDENTIALS_FILE)');
  const login = natsAuth.natsLogin(natsAuth.readCredentials(file), 'admin');
  return { servers: url, user: login.NATS_USER, pass: login.NATS_PASSWORD, inboxPrefix: '_INBOX_admin' };
}
