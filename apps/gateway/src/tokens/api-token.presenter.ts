import type { Role } from '../auth/principal.js';
import type { ApiToken, ApiTokenEvent } from './api-token.decider.js';
import { tokenPrefixOf } from './api-token.secret.js';

export type ApiTokenStatus = 'active' | 'expired' | 'revoked';

/** A token as the audit trail shows it (before / after): everything but the hash. */
export interface ApiTokenRecordBody {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  issued_by: string;
  /** A client token's environment; null: unscoped. */
  environment: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  version: number;
}

/** A token in GET / POST / DELETE answers: the record, its status now and its last use. Never the hash. */
export interface ApiTokenBody extends ApiTokenRecordBody {
  status: ApiTokenStatus;
  last_used_at: string | null;
}

/** What the read model and the command results have in common. */
export type ApiTokenRecord = Omit<ApiToken, 'tokenHash'>;

export const statusOf = (token: Pick<ApiTokenRecord, 'revokedAt' | 'expiresAt'>, now: Date): ApiTokenStatus => {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
};

export const presentTokenRecord = (token: ApiTokenRecord): ApiTokenRecordBody => ({
  id: token.id,
  name: token.name,
  role: token.role,
  prefix: tokenPrefixOf(token.id),
  created_at: token.issuedAt,
  expires_at: token.expiresAt,
  issued_by: token.issuedBy,
  environment: token.environment,
  revoked_at: token.revokedAt,
  revoked_by: token.revokedBy,
  version: token.version,
});

export const presentToken = (token: ApiTokenRecord, lastUsedAt: string | null, now: Date): ApiTokenBody => ({
  ...presentTokenRecord(token),
  status: statusOf(token, now),
  last_used_at: lastUsedAt,
});

/** An event's data as the audit trail's `change`: the hash stays in the log. */
export const presentChange = (event: ApiTokenEvent): Record<string, unknown> => {
  if (event.type === 'ApiTokenRevoked') {
    return { token_id: event.data.tokenId, revoked_at: event.data.revokedAt, revoked_by: event.data.revokedBy };
  }
  const { tokenId, name, role, issuedAt, expiresAt, issuedBy, environment } = event.data;
  return {
    token_id: tokenId,
    name,
    role,
    prefix: tokenPrefixOf(tokenId),
    issued_at: issuedAt,
    expires_at: expiresAt,
    issued_by: issuedBy,
    environment: environment ?? null,
  };
};
