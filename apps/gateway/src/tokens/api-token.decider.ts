import type { AggregateType } from '#rollgate/commands';
import { KEY_PATTERN, type Problem } from '#rollgate/contracts';
import { ROLES, type Role } from '../auth/principal.js';
import { TOKEN_HASH_PATTERN, TOKEN_ID_PATTERN } from './api-token.secret.js';
import { TOKENS_AREA, TokenError } from './api-token.errors.js';

export const TOKEN_NAME_MAX = 100;
/** Ten years: a longer-lived credential is a mistake, and the bound keeps every expiry a valid date. */
export const TOKEN_MAX_LIFETIME_SECONDS = 3_650 * 86_400;
// Letters, digits, punctuation and spaces: no control characters in what lists and logs print.
const NAME = /^[^\p{Cc}\p{Cf}]+$/u;

export interface ApiTokenIssuedData {
  tokenId: string;
  name: string;
  role: Role;
  /** `sha256:<hex>` of the whole token. This event lives only in the gateway's database, which publishes nothing. */
  tokenHash: string;
  issuedAt: string;
  expiresAt: string | null;
  /** The principal that issued it (also the event's metadata actor). */
  issuedBy: string;
  /** A client token's one environment (OFREP, evaluate, snapshot); absent: every environment (tokens before scopes). */
  environment?: string;
}

export interface ApiTokenRevokedData {
  tokenId: string;
  revokedAt: string;
  revokedBy: string;
}

export type ApiTokenEvent =
  { type: 'ApiTokenIssued'; data: ApiTokenIssuedData } | { type: 'ApiTokenRevoked'; data: ApiTokenRevokedData };

export const API_TOKEN_EVENT_TYPES: readonly ApiTokenEvent['type'][] = ['ApiTokenIssued', 'ApiTokenRevoked'];

/** A token as its stream leaves it. */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  tokenHash: string;
  issuedAt: string;
  expiresAt: string | null;
  issuedBy: string;
  /** The one environment a client token may evaluate; null: unscoped. */
  environment: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  version: number;
}

export type ApiTokenState = ApiToken | null;

export function evolveApiToken(state: ApiTokenState, event: ApiTokenEvent, version: number): ApiTokenState {
  switch (event.type) {
    case 'ApiTokenIssued': {
      const { tokenId, name, role, tokenHash, issuedAt, expiresAt, issuedBy, environment } = event.data;
      return {
        id: tokenId,
        name,
        role,
        tokenHash,
        issuedAt,
        expiresAt,
        issuedBy,
        environment: environment ?? null,
        revokedAt: null,
        revokedBy: null,
        version,
      };
    }
    case 'ApiTokenRevoked':
      return state === null
        ? null
        : { ...state, revokedAt: event.data.revokedAt, revokedBy: event.data.revokedBy, version };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** The `token-<id>` streams of the gateway's database. */
export const apiTokenAggregate: AggregateType<ApiTokenState, ApiTokenEvent> = {
  name: 'token',
  area: TOKENS_AREA,
  eventTypes: new Set(API_TOKEN_EVENT_TYPES),
  initialState: null,
  evolve: evolveApiToken,
};

export interface IssueApiToken {
  type: 'IssueApiToken';
  data: {
    tokenId: string;
    name: string;
    role: Role;
    tokenHash: string;
    issuedBy: string;
    /** At most one of the two; neither = never expires. */
    expiresAt?: string;
    expiresInSeconds?: number;
    /** Only for role `client`: the environment it is scoped to. */
    environment?: string;
  };
}

export interface RevokeApiToken {
  type: 'RevokeApiToken';
  data: { tokenId: string; revokedBy: string };
}

export type ApiTokenCommand = IssueApiToken | RevokeApiToken;

/** When an issued token stops working (ISO-8601), null for never; problems name the HTTP fields. */
function expiryOf(data: IssueApiToken['data'], now: Date, problems: Problem[]): string | null {
  const { expiresAt, expiresInSeconds } = data;
  const latest = now.getTime() + TOKEN_MAX_LIFETIME_SECONDS * 1_000;
  if (expiresAt !== undefined && expiresInSeconds !== undefined) {
    problems.push({ path: 'expires_at', message: 'give expires_at or expires_in, not both' });
    return null;
  }
  if (expiresInSeconds !== undefined) {
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > TOKEN_MAX_LIFETIME_SECONDS) {
      problems.push({
        path: 'expires_in',
        message: `must be a whole number of seconds from 1 to ${TOKEN_MAX_LIFETIME_SECONDS}`,
      });
      return null;
    }
    return new Date(now.getTime() + expiresInSeconds * 1_000).toISOString();
  }
  if (expiresAt === undefined) return null;
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) problems.push({ path: 'expires_at', message: 'must be an ISO-8601 date-time' });
  else if (at <= now.getTime()) problems.push({ path: 'expires_at', message: 'must be in the future' });
  else if (at > latest)
    problems.push({ path: 'expires_at', message: `must be at most ${TOKEN_MAX_LIFETIME_SECONDS / 86_400} days ahead` });
  else return new Date(at).toISOString();
  return null;
}

function issue(data: IssueApiToken['data'], state: ApiTokenState, now: Date): ApiTokenEvent[] {
  if (state !== null) throw TokenError.alreadyExists(data.tokenId);
  const problems: Problem[] = [];
  if (!TOKEN_ID_PATTERN.test(data.tokenId))
    problems.push({ path: 'id', message: `must match ${TOKEN_ID_PATTERN.source}` });
  if (typeof data.name !== 'string' || data.name.trim() === '' || data.name.length > TOKEN_NAME_MAX) {
    problems.push({ path: 'name', message: `must be 1 to ${TOKEN_NAME_MAX} characters, not only spaces` });
  } else if (!NAME.test(data.name)) {
    problems.push({ path: 'name', message: 'must not contain control characters' });
  }
  if (!(ROLES as readonly string[]).includes(data.role))
    problems.push({ path: 'role', message: `must be one of ${ROLES.join(', ')}` });
  if (!TOKEN_HASH_PATTERN.test(data.tokenHash))
    problems.push({ path: 'token_hash', message: 'must be sha256:<64 hex digits>' });
  const expiresAt = expiryOf(data, now, problems);
  if (data.environment !== undefined) {
    if (data.role !== 'client') problems.push({ path: 'environment', message: 'only a client token is scoped to an environment' });
    else if (typeof data.environment !== 'string' || !KEY_PATTERN.test(data.environment)) {
      problems.push({ path: 'environment', message: `must match ${KEY_PATTERN.source}` });
    }
  }
  if (problems.length > 0) throw TokenError.invalid(problems);
  return [
    {
      type: 'ApiTokenIssued',
      data: {
        tokenId: data.tokenId,
        name: data.name,
        role: data.role,
        tokenHash: data.tokenHash,
        issuedAt: now.toISOString(),
        expiresAt,
        issuedBy: data.issuedBy,
        ...(data.environment === undefined ? {} : { environment: data.environment }),
      },
    },
  ];
}

/**
 * Issue: a new stream only, with a valid name, role and expiry. Revoke: terminal and idempotent; revoking a
 * revoked token decides nothing (the first revocation's time and principal stay).
 */
export function decideApiToken(command: ApiTokenCommand, state: ApiTokenState, now: Date): ApiTokenEvent[] {
  switch (command.type) {
    case 'IssueApiToken':
      return issue(command.data, state, now);
    case 'RevokeApiToken':
      if (state === null) throw TokenError.notFound(command.data.tokenId);
      if (state.revokedAt !== null) return [];
      return [
        {
          type: 'ApiTokenRevoked',
          data: { tokenId: state.id, revokedAt: now.toISOString(), revokedBy: command.data.revokedBy },
        },
      ];
    default: {
      const unknown: never = command;
      throw new Error(`unknown token command ${JSON.stringify(unknown)}`);
    }
  }
}
