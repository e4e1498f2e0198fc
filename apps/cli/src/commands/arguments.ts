import { InvalidArgumentError } from 'commander';
import { KEY_PATTERN } from '#rollgate/contracts';

/**
 * Argument parsers for commander: each returns the parsed value or throws InvalidArgumentError, which the CLI
 * reports as a usage error (exit 2) before anything is sent.
 */
export function parseKey(value: string): string {
  if (!KEY_PATTERN.test(value)) throw new InvalidArgumentError(`must match ${KEY_PATTERN.source} (lower-case letters, digits, _ and -)`);
  return value;
}

export function parsePercentage(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be a number from 0 to 100');
  return n;
}

export function parsePositiveInt(value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return Number(value);
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError('must be a whole number of at least 0');
  return Number(value);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `250ms`, `2s`, `1.5m`, `1h`, `30d`; a bare number is seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('must be a duration such as 500ms, 30s, 5m, 1h or 30d');
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
  if (ms < 1) throw new InvalidArgumentError('must be longer than 0');
  return ms;
}

/** `on`/`off` (also true/false, enable/disable) → the kill switch's `enabled`. */
export function parseOnOff(value: string): boolean {
  const v = value.toLowerCase();
  if (['on', 'true', 'enable', 'enabled'].includes(v)) return true;
  if (['off', 'false', 'disable', 'disabled'].includes(v)) return false;
  throw new InvalidArgumentError('must be on or off');
}

/** `a,b,c` → keys, each checked. */
export function parseKeyList(value: string): string[] {
  const keys = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (keys.length === 0) throw new InvalidArgumentError('must name at least one key');
  for (const key of keys) if (!KEY_PATTERN.test(key)) throw new InvalidArgumentError(`"${key}" must match ${KEY_PATTERN.source}`);
  return [...new Set(keys)];
}

/** `a,b,c` → non-empty strings (user ids, tags). */
export function parseList(value: string): string[] {
  const items = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (items.length === 0) throw new InvalidArgumentError('must name at least one item');
  return items;
}

/** A repeatable `name=value` (evaluation context attributes); `=` inside the value is kept. */
export function collectAttribute(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('must be name=value');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** ISO-8601 with a date and a time (the API's `as_of`, `expires_at`, `scheduled_at`), normalised to UTC. */
export function parseTime(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('must be an ISO-8601 time such as 2026-12-01T09:30:00Z');
  }
  return new Date(value).toISOString();
}

/** A JSON object given inline (`--data '{...}'`). */
export function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** An Idempotency-Key: 1-200 printable ASCII characters (the gateway's rule). */
export function parseIdempotencyKey(value: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(value)) throw new InvalidArgumentError('must be 1-200 printable ASCII characters');
  return value;
}
