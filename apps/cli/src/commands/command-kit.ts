import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import type { CommandEnvelope } from '#rollgate/contracts';
import type { GlobalOptions } from '../config/settings.js';
import { usageError } from '../errors/cli-error.js';
import type { Runtime, WriteOptions } from '../runtime.js';
import { parseDuration, parseIdempotencyKey, parseJsonObject } from './arguments.js';

/** Options as commander gives them to an action: the command's own merged with the root's. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Options = GlobalOptions & WriteOptions & Record<string, any>;

/** Makes the Runtime of the command being run (the CLI entry owns it, to close it and to report its errors). */
export type RuntimeFactory = (options: GlobalOptions) => Runtime;

/**
 * Wraps an action: commander calls it with the positional arguments, the options and the command; the handler
 * gets the runtime, the positional arguments and the options merged with the root's.
 */
export function action(runtimeOf: RuntimeFactory, handler: (runtime: Runtime, args: string[], options: Options) => Promise<void>) {
  return async (...received: unknown[]): Promise<void> => {
    const command = received.at(-1) as Command;
    const options = command.optsWithGlobals<Options>();
    await handler(runtimeOf(options), received.slice(0, -2) as string[], options);
  };
}

/** --dry-run, --reason, --idempotency-key: every write has them. */
export const withWriteOptions = (command: Command): Command =>
  command
    .option('--dry-run', 'show the request and send nothing')
    .option('--reason <text>', 'why, for the audit trail')
    .option('--idempotency-key <key>', 'a retry with the same key repeats nothing', parseIdempotencyKey);

/** Destructive writes ask first; --yes skips the question (required without a terminal). */
export const withConfirmation = (command: Command): Command => command.option('-y, --yes', 'do not ask for confirmation');

export const withWatchOptions = (command: Command, what: string): Command =>
  command
    .option('-w, --watch', `follow ${what} live until it ends; the exit code says how it ended`)
    .addOption(new Option('--interval <duration>', 'how often --watch reads').argParser(parseDuration).default(500, '500ms'))
    .option('--timeout <duration>', 'give --watch up after this long (exit 8)', parseDuration);

/** The write headers of an HTTP command. */
export const writeHeaders = (options: WriteOptions): Record<string, string | undefined> => ({
  'idempotency-key': options.idempotencyKey,
  'x-rollgate-reason': options.reason,
});

/** `--data '{...}'` or `--file body.json`, at most one; undefined when neither was given. */
export function bodyFrom(runtime: Runtime, options: Options): Record<string, unknown> | undefined {
  if (options['data'] !== undefined && options['file'] !== undefined) throw usageError('give --data or --file, not both');
  if (options['file'] !== undefined) {
    let text: string;
    try {
      text = runtime.readJsonFile(String(options['file']));
    } catch (error) {
      throw usageError(`cannot read ${String(options['file'])}: ${(error as Error).message}`);
    }
    try {
      return parseJsonObject(text);
    } catch (error) {
      throw usageError(`${String(options['file'])} ${(error as Error).message}`);
    }
  }
  return options['data'] as Record<string, unknown> | undefined;
}

export const withBodyOptions = (command: Command, what: string): Command =>
  command.option('--data <json>', `the ${what} as JSON (the API's snake_case body)`, parseJsonObject).option('--file <path>', `the ${what} from a JSON file`);

/** Leaves out undefined fields, so a body names only what the user gave. */
export const defined = (fields: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

/** A command for the bus (`--via nats`): the idempotency key as the command id, the operator as the actor. */
export const envelopeOf = (runtime: Runtime, payload: object, options: WriteOptions): CommandEnvelope<object> => ({
  commandId: options.idempotencyKey ?? randomUUID(),
  actor: runtime.natsSettings.actor,
  ...(options.reason === undefined ? {} : { reason: options.reason }),
  payload,
});
