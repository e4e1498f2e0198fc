// Types of scripts/supervisor.mjs, for TypeScript callers (the e2e test).
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';

export interface BackoffPolicy {
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /** A service that exits after staying ready this long restarts after initialDelayMs again. */
  resetAfterMs: number;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SupervisedEntry {
  name: string;
  /** Runs once, before the first spawn. */
  prepare?: () => Promise<void>;
  spawn(): ChildProcess;
  /** Resolves when the child is ready; `signal` aborts when the child exits or the supervisor stops. */
  ready(ctx: { child: ChildProcess; signal: AbortSignal }): Promise<void>;
}

export interface SupervisorOptions {
  backoff?: Partial<BackoffPolicy>;
  killAfterMs?: number;
  log?: (line: string) => void;
  clock?: Clock;
}

export interface SpawnEvent {
  name: string;
  child: ChildProcess;
  attempt: number;
}
export interface ExitEvent {
  name: string;
  child: ChildProcess;
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
  /** False when the exit follows stop(). */
  unexpected: boolean;
}
export interface RestartEvent {
  name: string;
  delayMs: number;
  restarts: number;
}
export interface NotReadyEvent {
  name: string;
  child: ChildProcess | null;
  error: unknown;
}

export declare const DEFAULT_BACKOFF: Readonly<BackoffPolicy>;
export declare function backoffDelay(policy: Partial<BackoffPolicy>, failures: number): number;
export declare function describeExit(code: number | null, signal: NodeJS.Signals | null): string;

export declare class Supervisor extends EventEmitter {
  constructor(entries: SupervisedEntry[], options?: SupervisorOptions);
  readonly stopping: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  child(name: string): ChildProcess | null;
  pendingRestarts(): number;
  on(event: 'spawn' | 'ready', listener: (e: SpawnEvent) => void): this;
  on(event: 'exit', listener: (e: ExitEvent) => void): this;
  on(event: 'restart', listener: (e: RestartEvent) => void): this;
  on(event: 'not-ready', listener: (e: NotReadyEvent) => void): this;
}
