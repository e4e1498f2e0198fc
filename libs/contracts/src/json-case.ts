/**
 * The HTTP API speaks snake_case (the seed's style); the model and the bus speak camelCase. Conversion happens at
 * the edges (the gateway, and the CLI for what it reads over the bus), and knows the three places where keys are data, not field names:
 * - the keys of `environments` (environment names such as `eu_west` must survive a round trip),
 * - everything under `payload` (a variant's JSON is the user's),
 * - everything under `context` (evaluation attributes are the user's names).
 */
const OPAQUE = new Set(['payload', 'context']);
const KEYED_BY_DATA = new Set(['environments']);

export const snakeToCamel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const camelToSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const convert = (value: unknown, rename: (key: string) => string, keepKeys: boolean): unknown => {
  if (Array.isArray(value)) return value.map((item) => convert(item, rename, false));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const name = keepKeys ? key : rename(key);
    if (!keepKeys && OPAQUE.has(name)) out[name] = child;
    else out[name] = convert(child, rename, !keepKeys && KEYED_BY_DATA.has(name));
  }
  return out;
};

/** snake_case JSON from a client → camelCase model. */
export const toCamelCase = <T = unknown>(value: unknown): T => convert(value, snakeToCamel, false) as T;

/** camelCase model → snake_case JSON for a client. */
export const toSnakeCase = <T = unknown>(value: unknown): T => convert(value, camelToSnake, false) as T;

/** `environments.eu_west.defaultRollout.ppm` → `environments.eu_west.default_rollout.ppm` (validation paths). */
export const pathToSnakeCase = (path: string): string => {
  const parts = path.split('.');
  return parts.map((part, i) => (i > 0 && parts[i - 1] === 'environments' ? part : camelToSnake(part))).join('.');
};
