import { createInterface } from 'node:readline/promises';

/** The process as the CLI sees it: passed in, so the pure parts are tested without a terminal. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdoutIsTty: boolean;
  stdinIsTty: boolean;
  out(text: string): void;
  err(text: string): void;
  /** Asks on the terminal (stderr, so stdout stays the command's output) and returns the answer. */
  ask(question: string): Promise<string>;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export function processIo(): CliIo {
  return {
    env: process.env,
    stdoutIsTty: process.stdout.isTTY === true,
    stdinIsTty: process.stdin.isTTY === true,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
    now: () => Date.now(),
  };
}
