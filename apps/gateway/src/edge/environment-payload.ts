import { createHash } from 'node:crypto';
import type { FlagSnapshot } from '#rollgate/contracts';
import { toSnakeCase } from '../http/json-case.js';

/** An environment's payload as GET /environments/{env}/snapshot serves it: the bytes once, and their ETag. */
export interface EnvironmentPayload {
  readonly body: Buffer;
  /** Quoted strong ETag over the flags and segments only: a new position with the same flags keeps it. */
  readonly etag: string;
  /** The keys of the flags served (not archived), sorted: the OFREP bulk answer lists these. */
  readonly flagKeys: readonly string[];
}

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 22);

/** Serializes a snapshot the way the HTTP API shows it (snake_case), once per change of the flags. */
export function buildPayload(snapshot: FlagSnapshot): EnvironmentPayload {
  const flags = [...snapshot.flags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const segments = [...snapshot.segments].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const content = toSnakeCase<Record<string, unknown>>({ flags, segments, removedSegments: snapshot.removedSegments ?? [] });
  const contentJson = JSON.stringify(content);
  const body = Buffer.from(JSON.stringify({ environment: snapshot.environment, position: snapshot.position, ...content }));
  return {
    body,
    etag: `"${digest(`${snapshot.environment}\u0000${contentJson}`)}"`,
    flagKeys: flags.filter((flag) => flag.archived !== true).map((flag) => flag.key),
  };
}

/** Whether an If-None-Match header names this ETag (a list, `*`, or weak forms). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}
