/** A process's NATS settings as BaseEnv reads them (deploy/nats/rollgate.conf defines the users). */
export interface NatsSettings {
  NATS_URL: string;
  NATS_USER?: string | undefined;
  NATS_PASSWORD?: string | undefined;
  NATS_INBOX_PREFIX?: string | undefined;
}

/** What a connection needs to log in: user, password, and the reply inbox prefix the user may subscribe to. */
export interface NatsLogin {
  user?: string;
  pass?: string;
  inboxPrefix?: string;
}

/** The server list of NATS_URL (comma-separated). */
export const natsServers = (settings: Pick<NatsSettings, 'NATS_URL'>): string[] => settings.NATS_URL.split(',');

/**
 * The login for `settings`. A user's replies arrive on `_INBOX_<user>`, the only inbox its permissions let
 * it subscribe to, unless NATS_INBOX_PREFIX says otherwise; without a user the connection is anonymous
 * (a server with Rollgate's configuration refuses it).
 */
export function natsLogin(settings: NatsSettings): NatsLogin {
  if (!settings.NATS_USER) return settings.NATS_INBOX_PREFIX ? { inboxPrefix: settings.NATS_INBOX_PREFIX } : {};
  return {
    user: settings.NATS_USER,
    ...(settings.NATS_PASSWORD === undefined ? {} : { pass: settings.NATS_PASSWORD }),
    inboxPrefix: settings.NATS_INBOX_PREFIX || `_INBOX_${settings.NATS_USER}`,
  };
}
