import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort, waitFor } from '#rollgate/testing';
import { Supervisor, type ExitEvent, type RestartEvent, type SpawnEvent } from '../../../scripts/supervisor.mjs';

jest.setTimeout(60_000);

/**
 * Issue 7 item 11: `npm start` supervises its services (scripts/supervisor.mjs). Real child processes: `steady`
 * serves a readiness endpoint and stays up; `flaky` says it is up, then exits with code 3 a moment later. The
 * supervisor reports each exit of `flaky` and restarts it with growing delays while `steady` keeps its pid; stop()
 * ends both and restarts nothing.
 */
const BACKOFF = { initialDelayMs: 100, factor: 2, maxDelayMs: 400, resetAfterMs: 60_000 };
/** How many flaky processes die (each is restarted); the one after them stays up. */
const DEATHS = 5;

const node = (script: string, env: Record<string, string> = {}): ChildProcess =>
  spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });

const STEADY = `
  require('node:http')
    .createServer((req, res) => {
      res.writeHead(req.url === '/health/ready' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pid: process.pid }));
    })
    .listen(Number(process.env.PORT), '127.0.0.1');
`;
/** Exits with code 3 shortly after it is up, unless STAY is set (then it stays up until signalled). */
const FLAKY = `console.log('up'); process.env.STAY ? setInterval(() => {}, 1000) : setTimeout(() => process.exit(3), 150);`;

async function readyPid(port: number, signal?: AbortSignal): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: signal ?? null });
    return res.ok ? ((await res.json()) as { pid: number }).pid : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves when the child prints `line` on stdout. */
const printed = (child: ChildProcess, line: string): Promise<void> =>
  new Promise((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (l) => l === line && resolve());
  });

describe('npm start supervisor', () => {
  let supervisor: Supervisor | undefined;
  afterEach(async () => {
    await supervisor?.stop();
  });

  it('restarts the service that died with growing delays, keeps the other up, and stop() ends both', async () => {
    const port = await freePort();
    const logs: string[] = [];
    const spawns: Array<SpawnEvent & { at: number }> = [];
    const readies: string[] = [];
    const exits: Array<ExitEvent & { at: number }> = [];
    const restarts: RestartEvent[] = [];
    let flakyRuns = 0;

    supervisor = new Supervisor(
      [
        {
          name: 'steady',
          spawn: () => node(STEADY, { PORT: String(port) }),
          ready: ({ signal }) =>
            waitFor('steady ready', () => readyPid(port, signal), { timeoutMs: 15_000 }).then(() => undefined),
        },
        {
          name: 'flaky',
          // The first DEATHS processes die; the next one stays up, so stop() finds it running.
          spawn: () => node(FLAKY, ++flakyRuns > DEATHS ? { STAY: '1' } : {}),
          ready: ({ child }) => printed(child, 'up'),
        },
      ],
      { backoff: BACKOFF, killAfterMs: 5_000, log: (line) => logs.push(line) },
    );
    supervisor.on('spawn', (e) => spawns.push({ ...e, at: Date.now() }));
    supervisor.on('ready', (e) => readies.push(e.name));
    supervisor.on('exit', (e) => exits.push({ ...e, at: Date.now() }));
    supervisor.on('restart', (e) => restarts.push(e));

    await supervisor.start();
    // In order: steady was ready before flaky was spawned.
    expect(readies.slice(0, 2)).toEqual(['steady', 'flaky']);
    const steadyPid = supervisor.child('steady')!.pid!;
    expect(await readyPid(port)).toBe(steadyPid);

    // flaky dies DEATHS times and is restarted each time; the last process stays up.
    await waitFor('flaky restarted', async () => readies.filter((n) => n === 'flaky').length > DEATHS, {
      timeoutMs: 30_000,
    });
    const flakyExits = exits.filter((e) => e.name === 'flaky');
    const flakySpawns = spawns.filter((e) => e.name === 'flaky');

    // Each death is reported with its exit code, and restarted after a delay that doubles up to the maximum.
    expect(flakyExits.map((e) => [e.code, e.signal, e.unexpected])).toEqual(
      Array.from({ length: DEATHS }, () => [3, null, true]),
    );
    expect(restarts).toEqual([
      { name: 'flaky', delayMs: 100, restarts: 1 },
      { name: 'flaky', delayMs: 200, restarts: 2 },
      { name: 'flaky', delayMs: 400, restarts: 3 },
      { name: 'flaky', delayMs: 400, restarts: 4 },
      { name: 'flaky', delayMs: 400, restarts: 5 },
    ]);
    expect(logs).toContain('flaky exited unexpectedly (code 3); restarting it in 0.1 s (restart 1 in a row)');
    // A restart comes no sooner than its delay after the death, as a new process.
    for (let i = 0; i < DEATHS; i++) {
      expect(flakySpawns[i + 1]!.at - flakyExits[i]!.at).toBeGreaterThanOrEqual(restarts[i]!.delayMs - 5);
    }
    expect(new Set(flakySpawns.map((s) => s.child.pid)).size).toBe(flakySpawns.length);

    // The other service was never restarted and still answers as the same process.
    expect(spawns.filter((s) => s.name === 'steady')).toHaveLength(1);
    expect(exits.filter((e) => e.name === 'steady')).toEqual([]);
    expect(await readyPid(port)).toBe(steadyPid);

    // stop() ends both (by SIGTERM) and schedules no restart; it resolves once both have exited.
    const steadyChild = supervisor.child('steady')!;
    const flakyChild = supervisor.child('flaky')!;
    expect(flakyChild).not.toBeNull();
    const before = { spawns: spawns.length, restarts: restarts.length, exits: exits.length };
    await supervisor.stop();
    expect(steadyChild.signalCode).toBe('SIGTERM');
    expect(flakyChild.signalCode).toBe('SIGTERM');
    const stopExits = exits.slice(before.exits);
    expect(stopExits.map((e) => [e.name, e.unexpected]).sort()).toEqual([
      ['flaky', false],
      ['steady', false],
    ]);
    expect(restarts).toHaveLength(before.restarts);
    expect(spawns).toHaveLength(before.spawns);
    expect(supervisor.pendingRestarts()).toBe(0);
    expect(await readyPid(port)).toBeUndefined();
  });

  it('stop() during a backoff wait cancels the pending restart', async () => {
    const exited: string[] = [];
    supervisor = new Supervisor(
      [{ name: 'flaky', spawn: () => node(FLAKY), ready: ({ child }) => printed(child, 'up') }],
      {
        backoff: { ...BACKOFF, initialDelayMs: 60_000, maxDelayMs: 60_000 },
        log: () => {},
      },
    );
    supervisor.on('exit', (e) => exited.push(e.name));
    const scheduled = new Promise<RestartEvent>((resolve) => supervisor!.on('restart', resolve));
    await supervisor.start();
    expect((await scheduled).delayMs).toBe(60_000);
    expect(supervisor.pendingRestarts()).toBe(1);
    await supervisor.stop();
    expect(supervisor.pendingRestarts()).toBe(0);
    expect(supervisor.child('flaky')).toBeNull();
    expect(exited).toEqual(['flaky']);
  });
});
