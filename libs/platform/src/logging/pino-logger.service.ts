import type { LoggerService, LogLevel as NestLogLevel } from '@nestjs/common';
import type { Logger, Level } from 'pino';

const PINO_LEVEL: Record<NestLogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

const looksLikeStack = (value: unknown): value is string => typeof value === 'string' && /\n\s+at /.test(value);

/**
 * Nest's LoggerService on pino, for `app.useLogger(...)`: Nest's `Logger` calls in services end up as JSON lines.
 * Nest passes the context as the last string argument and, for errors, a stack before it.
 */
export class PinoLoggerService implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: NestLogLevel, message: unknown, params: unknown[]): void {
    const fields: Record<string, unknown> = {};
    const rest = [...params];
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string' && !looksLikeStack(rest[rest.length - 1])) {
      fields['context'] = rest.pop();
    }
    if (looksLikeStack(rest[0])) fields['stack'] = rest.shift();
    if (rest.length > 0) fields['params'] = rest;

    const pinoLevel = PINO_LEVEL[level];
    if (message instanceof Error) {
      this.pino[pinoLevel]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[pinoLevel]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.pino[pinoLevel](fields, String(message));
    }
  }
}
