import { CliCodes, CliError, usageError } from '../errors/cli-error.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The options every command takes (the root program's), as commander hands them over. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  output?: string;
  via?: string;
  natsUrl?: string;
  natsUser?: string;
  natsCredentials?: string;
  actor?: string;
  requestTimeout?: number;
}

export interface HttpSettings {
  /** The gateway's base URL without a trailing slash. */
  url: string;
  token: string | undefined;
  timeoutMs: number;
}

export const DEFAULT_URL = 'http://localhost:3000';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_NATS_USER = 'operator';
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export const VIAS = ['http', 'nats'] as const;
export type Via = (typeof VIAS)[number];

export function resolveVia(option: string | undefined, env: Env): Via {
  const via = option ?? (env['ROLLGATE_VIA'] || 'http');
  if ((VIAS as readonly string[]).includes(via)) return via as Via;
  throw usageError(`--via must be one of ${VIAS.join(', ')} (got "${via}")`);
}

/** `--url` / ROLLGATE_URL and `--token` / ROLLGATE_TOKEN (flags win). */
export function resolveHttpSettings(options: GlobalOptions, env: Env): HttpSettings {
  const raw = options.url ?? (env['ROLLGATE_URL'] || DEFAULT_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`--url / ROLLGATE_URL is not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`--url / ROLLGATE_URL must be http(s): "${raw}"`);
  return {
    url: url.href.replace(/\/+$/, ''),
    token: options.token ?? (env['ROLLGATE_TOKEN'] || undefined),
    timeoutMs: options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}

/** What `--via nats` logs in with (libs/messaging NatsSettings), and who it names as the actor. */
export interface NatsCliSettings {
  NATS_URL: string;
  NATS_USER: string;
  NATS_PASSWORD: string;
  actor: string;
  timeoutMs: number;
}

/** `RG_NATS_OPERATOR_PASSWORD=...` lines (scripts/nats-auth.mjs writes them). */
export function parseCredentials(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

export const passwordVariable = (user: string): string => `RG_NATS_${user.toUpperCase()}_PASSWORD`;

/**
 * NATS_URL, NATS_USER (default `operator`, the user deploy/nats/rollgate.conf gives the rollback commands and the
 * queries) and NATS_PASSWORD, or the user's password from a credentials file (`--nats-credentials`,
 * ROLLGATE_NATS_CREDENTIALS_FILE). The actor is `--actor` / ROLLGATE_ACTOR, else `<nats user>:<os user>`.
 */
export function resolveNatsSettings(options: GlobalOptions, env: Env, readFile: (path: string) => string, osUser: string): NatsCliSettings {
  const user = options.natsUser ?? (env['NATS_USER'] || DEFAULT_NATS_USER);
  let password = options.natsUser === undefined || options.natsUser === env['NATS_USER'] ? env['NATS_PASSWORD'] || undefined : undefined;
  const file = options.natsCredentials ?? (env['ROLLGATE_NATS_CREDENTIALS_FILE'] || undefined);
  if (password === undefined && file !== undefined) {
    let text: string;
    try {
      text = readFile(file);
    } catch (error) {
      throw new CliError(CliCodes.natsConfig, `cannot read the NATS credentials file ${file}: ${(error as Error).message}`);
    }
    password = parseCredentials(text)[passwordVariable(user)] || undefined;
    if (password === undefined) throw new CliError(CliCodes.natsConfig, `${file} has no ${passwordVariable(user)} (the NATS user ${user})`);
  }
  if (password === undefined) {
    throw new CliError(CliCodes.natsConfig, `no NATS password for user ${user}: set NATS_PASSWORD, or ROLLGATE_NATS_CREDENTIALS_FILE / --nats-credentials`);
  }
  return {
    NATS_URL: options.natsUrl ?? (env['NATS_URL'] || DEFAULT_NATS_URL),
    NATS_USER: user,
    NATS_PASSWORD: password,
    actor: options.actor ?? (env['ROLLGATE_ACTOR'] || `${user}:${osUser}`),
    timeoutMs: options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}
