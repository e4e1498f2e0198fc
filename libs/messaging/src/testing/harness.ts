/** Test-only helpers for the messaging integration tests: child processes and log comparison. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { START, type EventStore } from '#rollgate/event-store';
import { decodeEventMessage } from '../event-message.js';

const hooks = fileURLToPath(new URL('./ts-hooks.mjs', import.meta.url));

export interface ChildRun {
  child: ChildProcess;
  /** Resolves with the exit signal or code once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const running = new Set<ChildProcess>();

/**
 * Kills every script process still running. Call it in afterEach: a test that fails while a child runs would
 * otherwise leave it holding the runner's event loop open, and the suite would never exit.
 */
export async function killRunningScripts(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** Runs one of this folder's .ts scripts in its own Node process (the same Node as the test runner). */
export function spawnScript(script: string, env: Record<string, string>): ChildRun {
  const file = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', hooks, file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => out };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Event ids in the store's order once `count` of them are readable. The $all reader holds back events behind any
 * transaction still open in the PostgreSQL cluster (ADR 0003), another database's included, so events appended a
 * moment ago may not be readable yet on a busy server.
 */
export async function readableEventIds(store: EventStore, count: number, timeoutMs = 30_000): Promise<string[]> {
  let ids: string[] = [];
  await waitFor(`${count} readable events`, async () => (ids = await storeEventIds(store)).length >= count, timeoutMs);
  return ids;
}

/** Event ids in the store's gap-free order. */
export async function storeEventIds(store: EventStore): Promise<string[]> {
  const ids: string[] = [];
  let after = START;
  for (;;) {
    const batch = await store.readAll(after, 5000);
    if (batch.length === 0) return ids;
    for (const e of batch) ids.push(e.eventId);
    const last = batch[batch.length - 1]!;
    after = { transactionId: last.transactionId, globalPosition: last.globalPosition };
  }
}

/** Event ids of every message in the stream, in stream order, read with an ordered consumer. */
export async function streamEventIds(js: JetStreamClient, jsm: JetStreamManager, stream: string): Promise<string[]> {
  const { state } = await jsm.streams.info(stream);
  const ids: string[] = [];
  if (state.messages === 0) return ids;
  const consumer = await js.consumers.get(stream);
  const messages = await consumer.consume({ max_messages: 1000 });
  for await (const m of messages) {
    ids.push(decodeEventMessage(m).eventId);
    if (m.seq >= state.last_seq) break;
  }
  await messages.close();
  return ids;
}

/** Index of the first difference, for a readable failure message. */
export function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}
