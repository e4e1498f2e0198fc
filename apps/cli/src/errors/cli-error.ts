/**
 * Every failure the CLI reports: a stable code (the server's own, e.g. `ROLLBACK.TARGET_NOT_FOUND`, or a `CLI.*`
 * one for what the CLI itself refuses), a message, and the server's details when it gave any.
 */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** The HTTP status the server answered with, when the error came over HTTP. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CliError';
  }

  toJSON(): { code: string; message: string; details?: unknown } {
    return { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) };
  }
}

/** The CLI's own codes (the server's are in libs/contracts). */
export const CliCodes = {
  usage: 'CLI.USAGE',
  noToken: 'CLI.NO_TOKEN',
  unreachable: 'CLI.UNREACHABLE',
  notConfirmed: 'CLI.NOT_CONFIRMED',
  watchTimeout: 'CLI.WATCH_TIMEOUT',
  rollbackIncomplete: 'CLI.ROLLBACK_INCOMPLETE',
  canaryRegressed: 'CLI.CANARY_REGRESSED',
  canaryNotPromoted: 'CLI.CANARY_NOT_PROMOTED',
  badResponse: 'CLI.BAD_RESPONSE',
  natsConfig: 'CLI.NATS_CONFIG',
} as const;

export const usageError = (message: string): CliError => new CliError(CliCodes.usage, message);
