import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/base-env.config.js';
import { currentCorrelationId } from './correlation.js';

export interface CreateLoggerOptions {
  service: string;
  level?: LogLevel;
  /** Defaults to stdout; tests pass a stream to read the lines. */
  destination?: DestinationStream;
}

/** A JSON pino logger whose every line carries the service and the current correlation id. */
export const createLogger = ({ service, level = 'info', destination }: CreateLoggerOptions): Logger =>
  pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const correlationId = currentCorrelationId();
        return correlationId === undefined ? {} : { correlationId };
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
