import { keyOfStream } from '#rollgate/commands';
import { LogTail, type AllPosition, type EventStore, type RecordedEvent } from '#rollgate/event-store';
import { apiTokenAggregate, type ApiToken, type ApiTokenIssuedData } from '../tokens/api-token.decider.js';
import { digestOfHash, digestsEqual, parseApiToken, tokenDigest } from '../tokens/api-token.secret.js';
import type { Authentication, Role } from './principal.js';

export interface TokenTableOptions {
  /** How often the log is read for tokens issued or revoked by other gateway replicas (ms). */
  pollIntervalMs?: number;
  batchSize?: number;
  clock?: () => number;
  onError?: (error: unknown) => void;
}

interface Entry {
  role: Role;
  environment: string | null;
  digest: Buffer;
  expiresAtMs: number | null;
}

// Compared against when the id is unknown, so an unknown id and a wrong secret cost the same.
const NO_DIGEST = Buffer.alloc(32);

/**
 * Every issued API token (id → role, digest, expiry) and every revoked id, in memory: the request path verifies
 * a token with one map lookup and one SHA-256, never a query. The table follows the gateway's log in its gap-free
 * order (a poll every `pollIntervalMs`), so replicas see each other's issues and revocations within that; the
 * replica that issued or revoked also `merge`s the result before answering, so its own change holds at once.
 *
 * Revocation is terminal, so a revoked id is kept in a set of its own and nothing can bring the token back: the
 * table is the same whatever order the log and the merges reach it in.
 */
export class TokenTable {
  private readonly entries = new Map<string, Entry>();
  private readonly revoked = new Set<string>();
  private lastUse = new Map<string, number>();
  private readonly clock: () => number;
  private readonly tail: LogTail;

  constructor(store: EventStore, options: TokenTableOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.tail = new LogTail(store, (event) => this.apply(event), {
      pollIntervalMs: options.pollIntervalMs ?? 250,
      batchSize: options.batchSize,
      onError: options.onError,
    });
  }

  get appliedPosition(): AllPosition {
    return this.tail.appliedPosition;
  }

  /** Tokens known, revoked or not. */
  get size(): number {
    return this.entries.size;
  }

  /** The principal of an issued, unexpired, unrevoked token; records its use (written later, in batches). */
  verify(token: string): Authentication {
    const parsed = parseApiToken(token);
    if (parsed === undefined) return { ok: false, refusal: 'unknown' };
    const entry = this.entries.get(parsed.id);
    if (!digestsEqual(tokenDigest(parsed.token), entry?.digest ?? NO_DIGEST) || entry === undefined) {
      return { ok: false, refusal: 'unknown' };
    }
    if (this.revoked.has(parsed.id)) return { ok: false, refusal: 'revoked' };
    const now = this.clock();
    if (entry.expiresAtMs !== null && now >= entry.expiresAtMs) return { ok: false, refusal: 'expired' };
    this.lastUse.set(parsed.id, now);
    const principal = { id: principalIdOf(parsed.id), roles: [entry.role] };
    return { ok: true, principal: entry.environment === null ? principal : { ...principal, environment: entry.environment } };
  }

  /** A token's state as a command left it (issue or revoke on this replica): effective before the reply. */
  merge(token: ApiToken): void {
    this.add(token.id, token);
    if (token.revokedAt !== null) this.revoked.add(token.id);
  }

  /** The uses recorded since the last call (token id → epoch ms), for the batched last-use write. */
  takeUsage(): Map<string, number> {
    const taken = this.lastUse;
    this.lastUse = new Map();
    return taken;
  }

  /** Gives back uses a failed write could not store; the later of two times wins. */
  restoreUsage(usage: ReadonlyMap<string, number>): void {
    for (const [id, at] of usage) this.lastUse.set(id, Math.max(at, this.lastUse.get(id) ?? 0));
  }

  /** The last use this replica has seen but not written yet. */
  pendingUse(id: string): number | undefined {
    return this.lastUse.get(id);
  }

  /** Reads the log until caught up; returns how many events it applied. Concurrent callers share one read. */
  catchUp(): Promise<number> {
    return this.tail.catchUp();
  }

  start(): void {
    this.tail.start();
  }

  /** Reads now instead of at the next poll. */
  wake(): void {
    this.tail.wake();
  }

  stop(): Promise<void> {
    return this.tail.stop();
  }

  private apply(event: RecordedEvent): void {
    const id = keyOfStream(apiTokenAggregate, event.streamId);
    if (id === undefined) return;
    if (event.type === 'ApiTokenIssued') this.add(id, event.data as ApiTokenIssuedData);
    else if (event.type === 'ApiTokenRevoked') this.revoked.add(id);
  }

  private add(id: string, token: Pick<ApiToken, 'role' | 'tokenHash' | 'expiresAt'> & { environment?: string | null }): void {
    this.entries.set(id, {
      role: token.role,
      environment: token.environment ?? null,
      digest: digestOfHash(token.tokenHash),
      expiresAtMs: token.expiresAt === null ? null : Date.parse(token.expiresAt),
    });
  }
}

/** The principal id of an API token: the `actor` of what it does, in every event and the audit trail. */
export const principalIdOf = (tokenId: string): string => `token:${tokenId}`;
