import type { CliError } from '../errors/cli-error.js';
import type { CliIo } from '../io.js';
import type { OutputMode } from './output-mode.js';
import { asJson, listOf } from './views/json-body.js';

/** Writes a command's result as JSON or through its table view; errors and notes go to stderr. */
export class Printer {
  constructor(
    readonly mode: OutputMode,
    private readonly io: CliIo,
  ) {}

  result<Value>(value: Value, view: (value: Value) => string): void {
    this.io.out(this.mode === 'json' ? `${JSON.stringify(value, null, 2)}\n` : view(value));
  }

  /** A line for the person at the terminal, never part of the output a script parses. */
  note(text: string): void {
    if (this.mode === 'table') this.io.err(`${text}\n`);
  }

  error(error: CliError): void {
    if (this.mode === 'json') {
      this.io.err(`${JSON.stringify({ error: error.toJSON() })}\n`);
      return;
    }
    const problems = listOf(asJson(error.details)['problems']).map((p) => `  ${String(p['path'])}: ${String(p['message'])}\n`);
    this.io.err(`error: ${error.message} (code: ${error.code})\n${problems.join('')}`);
  }
}
