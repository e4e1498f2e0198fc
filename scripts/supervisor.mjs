// A small process supervisor: starts child processes in order, waits for each to be ready, and restarts one that
// exits unexpectedly with exponential backoff while the others keep running. stop() ends them all (SIGTERM, SIGKILL
// after a grace period) and no restart happens from then on. Plain Node ESM with no dependency; used by start.mjs.
//
//   const supervisor = new Supervisor([{ name, spawn: () => childProcess, ready: ({ child, signal }) => promise }]);
//   supervisor.on('exit', ({ name, code, signal, unexpected }) => ...);
//   await supervisor.start();   // in order: prepare() once, spawn(), ready(); rejects (after stopping all) if one
//                               // fails before its first ready
//   await supervisor.stop();
//
// Events: 'spawn' {name, child, attempt}, 'ready' {name, child, attempt}, 'exit' {name, child, code, signal,
// unexpected}, 'restart' {name, delayMs, restarts} (scheduled), 'not-ready' {name, child, error} (after a restart).
import { EventEmitter } from 'node:events';

/** 0.5 s, doubling to 30 s; back to 0.5 s once a service has stayed ready for 60 s. */
export const DEFAULT_BACKOFF = Object.freeze({
  initialDelayMs: 500,
  factor: 2,
  maxDelayMs: 30_000,
  resetAfterMs: 60_000,
});

const realClock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle),
});

/** The delay before the restart that follows `failures` consecutive failures (1 for the first). */
export function backoffDelay(policy, failures) {
  const { initialDelayMs, factor, maxDelayMs } = { ...DEFAULT_BACKOFF, ...policy };
  return Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, failures - 1));
}

/** "code 1" or "signal SIGKILL". */
export function describeExit(code, signal) {
  return signal ? `signal ${signal}` : `code ${code}`;
}

const alive = (child) =>
  child != null && child.pid !== undefined && child.exitCode === null && child.signalCode === null;

export class Supervisor extends EventEmitter {
  /**
   * @param {Array<{ name: string, spawn: () => import('node:child_process').ChildProcess,
   *   ready: (ctx: { child: import('node:child_process').ChildProcess, signal: AbortSignal }) => Promise<void>,
   *   prepare?: () => Promise<void> }>} entries  in start order
   * @param {{ backoff?: Partial<typeof DEFAULT_BACKOFF>, killAfterMs?: number, log?: (line: string) => void,
   *   clock?: { now(): number, setTimeout(fn: () => void, ms: number): unknown, clearTimeout(handle: unknown): void } }} [options]
   */
  constructor(entries, options = {}) {
    super();
    const names = new Set();
    for (const entry of entries) {
      if (names.has(entry.name)) throw new Error(`two entries are named ${entry.name}`);
      names.add(entry.name);
    }
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.killAfterMs = options.killAfterMs ?? 10_000;
    this.log = options.log ?? (() => {});
    this.clock = options.clock ?? realClock;
    this.stopping = false;
    this.stopped = null;
    /** Per entry: its current child, failures since it last stayed ready long enough, a pending restart timer. */
    this.services = entries.map((entry) => ({
      entry,
      child: null,
      attempt: 0,
      failures: 0,
      readySince: null,
      supervised: false,
      restartTimer: null,
      abort: null,
    }));
  }

  /** The running child of `name`, or null. */
  child(name) {
    const service = this.services.find((s) => s.entry.name === name);
    return service && alive(service.child) ? service.child : null;
  }

  /** Number of restarts scheduled but not spawned yet. */
  pendingRestarts() {
    return this.services.filter((s) => s.restartTimer !== null).length;
  }

  /**
   * Starts the entries in order, each after the previous one is ready. A service that exits or is not ready before
   * its first ready is not restarted: everything is stopped and start() rejects. Resolves early if stop() is called.
   */
  async start() {
    for (const service of this.services) {
      if (this.stopping) return;
      try {
        await service.entry.prepare?.();
        if (this.stopping) return;
        await this.#launch(service);
      } catch (error) {
        if (this.stopping) return;
        await this.stop();
        throw error;
      }
    }
  }

  /** Stops every child (SIGTERM, SIGKILL after killAfterMs) and cancels pending restarts. Idempotent. */
  stop() {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    const running = [];
    for (const service of this.services) {
      if (service.restartTimer !== null) this.clock.clearTimeout(service.restartTimer);
      service.restartTimer = null;
      service.abort?.abort(new Error('stopping'));
      if (alive(service.child)) running.push(service);
    }
    if (running.length) this.log(`stopping ${running.map((s) => s.entry.name).join(', ')}`);
    this.stopped = Promise.all(running.map((s) => this.#terminate(s.child))).then(() => undefined);
    return this.stopped;
  }

  /** Spawns the service and waits until it is ready; rejects when it exits first or ready() rejects. */
  async #launch(service) {
    const { entry } = service;
    service.attempt++;
    service.readySince = null;
    const abort = new AbortController();
    service.abort = abort;
    let child;
    try {
      child = entry.spawn();
    } catch (error) {
      throw new Error(`${entry.name} could not be started: ${error instanceof Error ? error.message : String(error)}`);
    }
    service.child = child;
    const exited = new Promise((resolve) => {
      let done = false;
      const finish = (code, signal, error) => {
        if (done) return;
        done = true;
        resolve({ code, signal, error });
        this.#onExit(service, child, code, signal, error);
      };
      child.once('exit', (code, signal) => finish(code, signal));
      // 'error' without 'exit': the process could not be spawned at all (ENOENT, EACCES...).
      child.on('error', (error) => {
        if (child.pid === undefined) finish(null, null, error);
      });
    });
    this.emit('spawn', { name: entry.name, child, attempt: service.attempt });

    const gone = exited.then(({ code, signal, error }) => {
      throw new Error(
        `${entry.name} ${error ? `could not be started (${error.message})` : `exited (${describeExit(code, signal)})`} before it was ready`,
      );
    });
    try {
      await Promise.race([entry.ready({ child, signal: abort.signal }), gone]);
    } finally {
      abort.abort(new Error('done'));
      gone.catch(() => {});
      if (service.abort === abort) service.abort = null;
    }
    if (this.stopping) return;
    if (!alive(child)) throw new Error(`${entry.name} exited before it was ready`);
    service.supervised = true;
    service.readySince = this.clock.now();
    this.emit('ready', { name: entry.name, child, attempt: service.attempt });
  }

  #onExit(service, child, code, signal, error) {
    const { name } = service.entry;
    const unexpected = !this.stopping;
    this.emit('exit', { name, child, code, signal, error, unexpected });
    if (!unexpected || !service.supervised || service.child !== child) return;
    const how = error
      ? `could not be started (${error.message})`
      : `exited unexpectedly (${describeExit(code, signal)})`;
    this.#scheduleRestart(service, how);
  }

  /** Logs the failure and spawns the service again after the backoff delay. */
  #scheduleRestart(service, how) {
    const { name } = service.entry;
    const stayedReady =
      service.readySince !== null && this.clock.now() - service.readySince >= this.backoff.resetAfterMs;
    service.readySince = null;
    service.failures = stayedReady ? 1 : service.failures + 1;
    const delayMs = backoffDelay(this.backoff, service.failures);
    this.log(`${name} ${how}; restarting it in ${delayMs / 1000} s (restart ${service.failures} in a row)`);
    this.emit('restart', { name, delayMs, restarts: service.failures });
    service.restartTimer = this.clock.setTimeout(() => {
      service.restartTimer = null;
      if (this.stopping) return;
      const previous = service.child;
      this.#launch(service).then(
        () => {
          if (!this.stopping) this.log(`${name} is ready again`);
        },
        (err) => {
          if (this.stopping) return;
          const current = service.child;
          this.emit('not-ready', { name, child: current, error: err });
          if (current === previous) {
            // spawn() itself threw: no process, so no exit to schedule the next attempt.
            this.#scheduleRestart(
              service,
              `failed to start again (${err instanceof Error ? err.message : String(err)})`,
            );
          } else if (alive(current)) {
            // Not ready in time but still running: end it, and its exit schedules the next attempt. (One that
            // exited before it was ready has already scheduled it.)
            this.log(`${err instanceof Error ? err.message : String(err)}; stopping it to restart it`);
            void this.#terminate(current);
          }
        },
      );
    }, delayMs);
  }

  /** SIGTERM, then SIGKILL after killAfterMs; resolves once the child has exited. */
  #terminate(child) {
    return new Promise((resolve) => {
      if (!alive(child)) return resolve();
      const timer = this.clock.setTimeout(() => {
        if (alive(child)) child.kill('SIGKILL');
      }, this.killAfterMs);
      child.once('exit', () => {
        this.clock.clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
