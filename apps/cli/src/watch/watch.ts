import { CliCodes, CliError } from '../errors/cli-error.js';
import type { Runtime } from '../runtime.js';

export interface WatchOptions {
  intervalMs: number;
  /** Give up after this long (exit 8); absent: until the end. */
  timeoutMs?: number;
}

const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/**
 * Reads `read` every interval until `ended`, and shows it the way the output allows: a live view redrawn in place
 * on a terminal (Argo's `get -w`), each change once when the table goes to a pipe, and only the final state as JSON.
 * Returns the final state; a timeout prints the last state and throws CLI.WATCH_TIMEOUT.
 */
export async function watchUntil<State>(
  runtime: Runtime,
  read: () => Promise<State>,
  ended: (state: State) => boolean,
  view: (state: State) => string,
  options: WatchOptions,
): Promise<State> {
  const { io, printer } = runtime;
  const live = printer.mode === 'table' && io.stdoutIsTty;
  const deadline = options.timeoutMs === undefined ? Infinity : io.now() + options.timeoutMs;
  let shown: string | undefined;
  for (;;) {
    const state = await read();
    const done = ended(state);
    if (printer.mode === 'table') {
      const text = view(state);
      if (live) io.out(`${CLEAR_SCREEN}${text}${done ? '' : `\nwatching every ${options.intervalMs} ms, Ctrl-C to stop\n`}`);
      else if (text !== shown) io.out(`${shown === undefined ? '' : '\n'}${text}`);
      shown = text;
    }
    if (done) {
      if (printer.mode === 'json') printer.result(state, view);
      return state;
    }
    if (io.now() + options.intervalMs > deadline) {
      if (printer.mode === 'json') printer.result(state, view);
      throw new CliError(CliCodes.watchTimeout, `still not finished after ${options.timeoutMs} ms`);
    }
    await io.sleep(options.intervalMs);
  }
}
