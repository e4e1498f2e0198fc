import { FLAG_KEY_PATTERN } from '#rollgate/evaluation';

/**
 * Flag, segment and environment keys: one NATS subject token each (lower case, digits, `_` and `-`, no dots).
 * Defined once, by the flag model; every DTO, subject check and query refers to this one.
 */
export const KEY_PATTERN: RegExp = FLAG_KEY_PATTERN;

/** The class-validator message for a key field: `keyMessage('environment')`. */
export const keyMessage = (field: string): string =>
  `${field} must match ${KEY_PATTERN.source} (lower case, digits, _ and -)`;
