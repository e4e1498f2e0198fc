import { InMemoryEventStore } from './in-memory-event-store.js';
import { LogTail } from './log-tail.js';
import type { RecordedEvent } from './event-store.port.js';

describe(LogTail.name, () => {
  const append = (store: InMemoryEventStore, stream: string, n: number) =>
    store.append(stream, Array.from({ length: n }, (_, i) => ({ type: 'Happened', data: { i } })), { expectedVersion: 'any' });

  it('applies every event once, in log order, across batches and repeated catch-ups', async () => {
    const store = new InMemoryEventStore();
    const seen: RecordedEvent[] = [];
    const tail = new LogTail(store, (event) => seen.push(event), { pollIntervalMs: 1_000, batchSize: 3 });
    await append(store, 'a-1', 4);
    await append(store, 'b-1', 3);
    expect(await tail.catchUp()).toBe(7);
    expect(await tail.catchUp()).toBe(0);
    await append(store, 'a-1', 1);
    expect(await tail.catchUp()).toBe(1);
    expect(seen.map((e) => `${e.streamId}@${e.streamVersion}`)).toEqual(['a-1@1', 'a-1@2', 'a-1@3', 'a-1@4', 'b-1@1', 'b-1@2', 'b-1@3', 'a-1@5']);
    expect(tail.appliedPosition.globalPosition).toBe(seen[7]!.globalPosition);
  });

  it('waitFor resolves true once the position is applied, false on timeout and on stop', async () => {
    const store = new InMemoryEventStore();
    const tail = new LogTail(store, () => undefined, { pollIntervalMs: 60_000 });
    tail.start();
    const written = await append(store, 's-1', 2);
    const target = { transactionId: (await store.readAll(tail.appliedPosition, 10)).at(-1)!.transactionId, globalPosition: written.firstPosition + 1n };
    await expect(tail.waitFor(target, 2_000)).resolves.toBe(true);
    const beyond = { transactionId: target.transactionId + 100n, globalPosition: 0n };
    await expect(tail.waitFor(beyond, 20)).resolves.toBe(false);
    const pending = tail.waitFor(beyond, 60_000);
    await tail.stop();
    await expect(pending).resolves.toBe(false);
  });
});
