import { CliCodes } from '../errors/cli-error.js';
import type { OutputMode } from '../output/output-mode.js';
import { Printer } from '../output/printer.js';
import { Runtime } from '../runtime.js';
import { fakeIo, type FakeIo } from '../testing/fake-io.js';
import { watchUntil } from './watch.js';

const states = ['running 1/2', 'running 1/2', 'running 2/2', 'succeeded 2/2'];

function setup(mode: OutputMode, tty: boolean): { io: FakeIo; runtime: Runtime; read: () => Promise<{ s: string }>; reads: () => number } {
  const io = fakeIo({ tty });
  let i = 0;
  const read = async (): Promise<{ s: string }> => ({ s: states[Math.min(i++, states.length - 1)]! });
  return { io, runtime: new Runtime(io, {}, new Printer(mode, io)), read, reads: () => i };
}

const ended = (state: { s: string }): boolean => state.s.startsWith('succeeded');
const view = (state: { s: string }): string => `${state.s}\n`;

describe(watchUntil.name, () => {
  it('on a terminal redraws the live view in place at every read, until the end', async () => {
    const { io, runtime, read, reads } = setup('table', true);
    await expect(watchUntil(runtime, read, ended, view, { intervalMs: 100 })).resolves.toEqual({ s: 'succeeded 2/2' });
    expect(reads()).toBe(4);
    expect(io.stdout).toHaveLength(4);
    expect(io.stdout.every((text) => text.startsWith('\x1b[H\x1b[2J'))).toBe(true);
    expect(io.stdout[0]).toContain('watching every 100 ms');
    expect(io.stdout[3]).toBe('\x1b[H\x1b[2Jsucceeded 2/2\n');
  });

  it('to a pipe prints each change once, no escape codes', async () => {
    const { io, runtime, read } = setup('table', false);
    await watchUntil(runtime, read, ended, view, { intervalMs: 100 });
    expect(io.stdout.join('')).toBe('running 1/2\n\nrunning 2/2\n\nsucceeded 2/2\n');
  });

  it('as JSON prints only the final state, so the output parses', async () => {
    const { io, runtime, read } = setup('json', true);
    await watchUntil(runtime, read, ended, view, { intervalMs: 100 });
    expect(JSON.parse(io.stdout.join(''))).toEqual({ s: 'succeeded 2/2' });
  });

  it('gives up at --timeout with CLI.WATCH_TIMEOUT, after printing the last state', async () => {
    const { io, runtime } = setup('json', false);
    const never = async (): Promise<{ s: string }> => ({ s: 'running 1/2' });
    await expect(watchUntil(runtime, never, ended, view, { intervalMs: 100, timeoutMs: 350 })).rejects.toMatchObject({ code: CliCodes.watchTimeout });
    expect(JSON.parse(io.stdout.join(''))).toEqual({ s: 'running 1/2' });
    expect(io.now()).toBeLessThanOrEqual(350);
  });
});
