import type { CliIo } from '../io.js';

/** A CliIo that records what the CLI writes, answers prompts from a list, and runs a clock that sleeps instantly. */
export interface FakeIo extends CliIo {
  stdout: string[];
  stderr: string[];
  questions: string[];
}

export function fakeIo(options: { tty?: boolean; stdinTty?: boolean; answers?: string[]; env?: Record<string, string> } = {}): FakeIo {
  let clock = 0;
  const answers = [...(options.answers ?? [])];
  const io: FakeIo = {
    env: options.env ?? {},
    stdoutIsTty: options.tty ?? false,
    stdinIsTty: options.stdinTty ?? options.tty ?? false,
    stdout: [],
    stderr: [],
    questions: [],
    out: (text) => void io.stdout.push(text),
    err: (text) => void io.stderr.push(text),
    ask: async (question) => {
      io.questions.push(question);
      return answers.shift() ?? '';
    },
    sleep: async (ms) => {
      clock += ms;
    },
    now: () => clock,
  };
  return io;
}
