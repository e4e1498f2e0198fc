import { Command, CommanderError } from 'commander';
import { auditCommand } from './commands/audit.command.js';
import { canariesCommand } from './commands/canaries.command.js';
import { parseDuration } from './commands/arguments.js';
import { flagsCommand } from './commands/flags.command.js';
import { rollbacksCommand } from './commands/rollbacks.command.js';
import { tokensCommand } from './commands/tokens.command.js';
import type { GlobalOptions } from './config/settings.js';
import { CliCodes, CliError } from './errors/cli-error.js';
import { EXIT, exitCodeOf } from './errors/exit-codes.js';
import type { CliIo } from './io.js';
import { resolveOutputMode } from './output/output-mode.js';
import { Printer } from './output/printer.js';
import { Runtime } from './runtime.js';

export const CLI_VERSION = '0.1.0';

function buildProgram(io: CliIo, runtimeOf: (options: GlobalOptions) => Runtime): Command {
  const program = new Command('rollgate')
    .description('Rollgate from the command line: flags, canaries, rollbacks, tokens and the audit trail (docs/cli.md)')
    .version(CLI_VERSION)
    .option('--url <url>', 'the gateway (ROLLGATE_URL, default http://localhost:3000)')
    .option('--token <token>', 'an API token or the admin token (ROLLGATE_TOKEN)')
    .option('-o, --output <format>', 'table or json (ROLLGATE_OUTPUT; default table on a terminal, json otherwise)')
    .option('--via <transport>', 'rollbacks: http (default) or nats, straight to the services as the operator user (ROLLGATE_VIA)')
    .option('--nats-url <url>', 'with --via nats (NATS_URL)')
    .option('--nats-user <user>', 'with --via nats (NATS_USER, default operator)')
    .option('--nats-credentials <file>', 'a credentials file of RG_NATS_<USER>_PASSWORD lines (ROLLGATE_NATS_CREDENTIALS_FILE)')
    .option('--actor <name>', 'with --via nats: who the audit trail names (ROLLGATE_ACTOR, default <nats user>:<os user>)')
    .option('--request-timeout <duration>', 'per request (default 15s)', parseDuration)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text), outputError: () => undefined });
  for (const command of [flagsCommand(runtimeOf), canariesCommand(runtimeOf), rollbacksCommand(runtimeOf), tokensCommand(runtimeOf), auditCommand(runtimeOf)]) {
    program.addCommand(command);
  }
  // Subcommands inherit the exit override and the output, so every parse error comes back here as a throw.
  const inherit = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text), outputError: () => undefined }).showSuggestionAfterError();
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/** Runs one invocation; resolves to the exit code (docs/cli.md "Exit codes") and never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let runtime: Runtime | undefined;
  const runtimeOf = (options: GlobalOptions): Runtime => {
    runtime = new Runtime(io, options, new Printer(resolveOutputMode(options.output, io.env['ROLLGATE_OUTPUT'], io.stdoutIsTty), io));
    return runtime;
  };
  try {
    await buildProgram(io, runtimeOf).parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      // `rollgate` or `rollgate flags` without a command: commander printed the help to stderr; not a success.
      if (error.code === 'commander.help') return EXIT.usage;
      const usage = new CliError(CliCodes.usage, error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '));
      printerFor(runtime, io, argv).error(usage);
      return EXIT.usage;
    }
    const failure = error instanceof CliError ? error : new CliError('GENERIC.INTERNAL', `unexpected: ${(error as Error).stack ?? String(error)}`);
    printerFor(runtime, io, argv).error(failure);
    return exitCodeOf(failure.code, failure.status);
  } finally {
    await runtime?.close();
  }
}

/** `-o json`, `--output json`, `--output=json` as given, for errors raised before commander handed options over. */
export function outputOptionIn(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if ((arg === '-o' || arg === '--output') && i + 1 < argv.length) return argv[i + 1];
    if (arg.startsWith('--output=')) return arg.slice('--output='.length);
  }
  return undefined;
}

/** The printer of the command that failed, or for an error before any command ran, one from the arguments as given. */
function printerFor(runtime: Runtime | undefined, io: CliIo, argv: readonly string[]): Printer {
  if (runtime) return runtime.printer;
  let mode: 'table' | 'json' = 'table';
  try {
    mode = resolveOutputMode(outputOptionIn(argv), io.env['ROLLGATE_OUTPUT'], io.stdoutIsTty);
  } catch {
    // an invalid -o: report in a table
  }
  return new Printer(mode, io);
}
