import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

interface CorrelationStore {
  correlationId: string;
}

const storage = new AsyncLocalStorage<CorrelationStore>();

/** Runs `fn` with `id` as the correlation id of everything it does, awaited work included. */
export const runWithCorrelationId = <T>(id: string, fn: () => T): T => storage.run({ correlationId: id }, fn);

export const currentCorrelationId = (): string | undefined => storage.getStore()?.correlationId;

export const newCorrelationId = (): string => randomUUID();

// Taken from a client header: bounded and printable, so it cannot forge log lines or bloat them.
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The incoming id if it is acceptable, else a fresh uuid. */
export const acceptCorrelationId = (incoming: unknown): string =>
  typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming) ? incoming : newCorrelationId();
