import { CliCodes, CliError } from './errors/cli-error.js';
import type { CliIo } from './io.js';

/**
 * A destructive command runs only when the operator said so: `--yes`, or `y` at the terminal. Without a terminal
 * and without --yes it refuses (a script that forgot --yes must not act, and must not hang on a prompt).
 */
export async function confirmDestructive(io: CliIo, yes: boolean | undefined, what: string): Promise<void> {
  if (yes === true) return;
  if (!io.stdinIsTty) {
    throw new CliError(CliCodes.notConfirmed, `refusing to ${what} without confirmation: stdin is not a terminal, pass --yes`);
  }
  const answer = (await io.ask(`${what}? [y/N] `)).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') throw new CliError(CliCodes.notConfirmed, `not confirmed: did not ${what}`);
}
