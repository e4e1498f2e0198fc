/** Response bodies are the API's snake_case JSON, read field by field by the views. */
export type Json = Record<string, unknown>;

export const asJson = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
export const listOf = (value: unknown): Json[] => (Array.isArray(value) ? value.map(asJson) : []);
export const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** 0.1234 → `12.34%`, for rates given as fractions. */
export const percentOf = (fraction: unknown): string | undefined => {
  const n = num(fraction);
  return n === undefined ? undefined : `${Number((n * 100).toFixed(2))}%`;
};
