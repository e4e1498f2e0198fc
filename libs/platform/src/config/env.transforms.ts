import { Transform } from 'class-transformer';

/** `true`/`false`/`1`/`0` (any case) to a boolean; anything else is left for `@IsBoolean()` to reject. */
export const ToBoolean = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    const normalized = value.trim().toLowerCase();
    if (normalized === 'true' || normalized === '1') return true;
    if (normalized === 'false' || normalized === '0') return false;
    return value;
  });

/** A numeric string to a number; anything else is left for `@IsInt()`/`@IsNumber()` to reject. */
export const ToNumber = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string' || value.trim() === '') return value;
    const parsed = Number(value);
    return Number.isNaN(parsed) ? value : parsed;
  });
