import { KEY_PATTERN } from '#rollgate/contracts';
import { ForbiddenError, ValidationError } from '#rollgate/platform';
import type { Principal } from '../auth/principal.js';
import type { FlagVersion } from './environment-state.js';

/** `Rollgate-Read-After: <flag key>@<version>[, …]`: the read waits until the local state holds those versions. */
export const READ_AFTER_HEADER = 'rollgate-read-after';
const MAX_READ_AFTER = 20;

/** The header's versions; throws GENERIC.VALIDATION naming the header when it is malformed. */
export function parseReadAfter(header: string | string[] | undefined): FlagVersion[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  const parts = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const versions: FlagVersion[] = [];
  for (const part of parts.slice(0, MAX_READ_AFTER + 1)) {
    const at = part.lastIndexOf('@');
    const key = part.slice(0, at);
    const version = Number(part.slice(at + 1));
    if (at <= 0 || !KEY_PATTERN.test(key) || !Number.isSafeInteger(version) || version < 1 || parts.length > MAX_READ_AFTER) {
      throw ValidationError.of([{ path: 'Rollgate-Read-After', message: `must be up to ${MAX_READ_AFTER} <flag key>@<version> (a write's key and version), comma-separated` }]);
    }
    versions.push({ key, version });
  }
  return versions;
}

/** A client token scoped to an environment reads only that one (403 otherwise); other principals read any. */
export function assertEnvironment(principal: Principal, environment: string): void {
  if (principal.environment !== undefined && principal.environment !== environment) {
    throw new ForbiddenError(`This token is scoped to environment ${principal.environment}`, {
      details: { environment, tokenEnvironment: principal.environment },
    });
  }
}
