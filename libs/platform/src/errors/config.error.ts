import { ErrorCodes } from '#rollgate/contracts';
import { RollgateError } from './rollgate.error.js';

export interface InvalidVariable {
  name: string;
  messages: string[];
}

/** Thrown once at boot with every bad variable; values are left out because some hold secrets. */
export class ConfigError extends RollgateError {
  override readonly name: string = 'ConfigError';
  readonly variables: InvalidVariable[];

  constructor(variables: InvalidVariable[]) {
    super(
      ErrorCodes.config,
      `Invalid configuration: ${variables.map((v) => `${v.name} (${v.messages.join('; ')})`).join(', ')}`,
      { details: { variables } },
    );
    this.variables = variables;
  }
}
