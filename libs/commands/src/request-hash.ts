import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth and `undefined` members left out (as JSON.stringify does), so two
 * payloads that mean the same serialize the same whatever order their keys were written in. Array order counts.
 */
export const canonicalJson = (value: unknown): string => JSON.stringify(canonical(value)) ?? 'null';

const canonical = (value: unknown): unknown => {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : canonical(item)));
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) sorted[key] = canonical(member);
  }
  return sorted;
};

/**
 * The fingerprint bound to a command id in es.commands: sha256 over the command type and the canonical JSON of its
 * payload. A repeated id with another fingerprint is another request, not a retry.
 */
export const requestHashOf = (commandType: string, command: unknown): string =>
  `sha256:${createHash('sha256').update(commandType).update('\n').update(canonicalJson(command)).digest('hex')}`;
