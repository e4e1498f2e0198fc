import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../../..');
const CLI_MAIN = resolve(ROOT, 'dist/apps/cli/src/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `rollgate` invocation: `done` settles when it exits. */
export interface CliProcess {
  done: Promise<CliRun>;
  kill(): void;
}

/**
 * The built CLI as a child process, the way a script runs it: stdin and stdout are pipes (not a terminal), so it
 * prints JSON by default and refuses destructive commands without --yes. Only `env` is passed (plus PATH), so no
 * ROLLGATE_* or NATS_* of the test runner leaks in.
 */
export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run npm run build first`);
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliRun>((settle) => child.once('close', (code) => settle({ code, stdout, stderr })));
  return { done, kill: () => child.kill('SIGKILL') };
}

export const runCli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => startCli(args, env).done;
