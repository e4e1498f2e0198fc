import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ConfigError } from '../errors/config.error.js';

export type Environment = Readonly<Record<string, string | undefined>>;
export type EnvClass<T extends object> = new () => T;

/**
 * Validates an environment against an env class once, at boot: returns an instance holding only the declared
 * variables (defaults applied, numbers and booleans converted), or throws one ConfigError listing every bad one.
 * An empty variable counts as unset, so `FOO=` in a compose file falls back to the default.
 */
export const loadConfig = <T extends object>(envClass: EnvClass<T>, env: Environment = process.env): T => {
  const plain = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const config = plainToInstance(envClass, plain, { exposeDefaultValues: true });
  // whitelist drops the undeclared variables (PATH, HOME...) from the instance
  const errors = validateSync(config, { whitelist: true, validationError: { target: false, value: false } });
  if (errors.length > 0) {
    throw new ConfigError(
      errors.map((error) => ({ name: error.property, messages: Object.values(error.constraints ?? {}) })),
    );
  }
  return config;
};
