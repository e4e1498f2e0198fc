import { randomUUID } from 'node:crypto';
import { CommandIdReusedError, InvalidAppendError, VersionConflictError } from './event-store.errors.js';
import { START, type CheckpointStore, type EventStore } from './event-store.port.js';

/**
 * One behavioural contract for every EventStore implementation. The Postgres store and the in-memory twin both
 * run it, so unit tests written against the twin stay honest.
 */
export function eventStoreContract(
  name: string,
  setup: () => Promise<{ store: EventStore & CheckpointStore; teardown?: () => Promise<void> }>,
): void {
  describe(`${name} (EventStore contract)`, () => {
    let store: EventStore & CheckpointStore;
    let teardown: (() => Promise<void>) | undefined;
    const streamId = (): string => `flag-${randomUUID().slice(0, 8)}`;
    const event = (n: number) => ({ type: 'FlagToggled', data: { n }, metadata: { actor: 'tester' } });

    beforeAll(async () => {
      ({ store, teardown } = await setup());
    });
    afterAll(async () => {
      await teardown?.();
    });

    it('creates a stream with no_stream and numbers its events from 1', async () => {
      const id = streamId();
      const result = await store.append(id, [event(1), event(2)], { expectedVersion: 'no_stream' });
      expect(result).toMatchObject({ streamId: id, nextVersion: 2, duplicate: false });
      const events = await store.readStream(id);
      expect(events.map((e) => [e.streamVersion, e.data])).toEqual([
        [1, { n: 1 }],
        [2, { n: 2 }],
      ]);
      expect(events[0]!.globalPosition).toBe(result.firstPosition);
      expect(events[1]!.globalPosition > events[0]!.globalPosition).toBe(true);
      expect(events[0]!.metadata).toEqual({ actor: 'tester' });
      expect(await store.streamVersion(id)).toBe(2);
    });

    it('rejects no_stream on an existing stream and a stale exact version, leaving the stream unchanged', async () => {
      const id = streamId();
      await store.append(id, [event(1)], { expectedVersion: 'no_stream' });
      await expect(store.append(id, [event(2)], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      await expect(store.append(id, [event(2)], { expectedVersion: 0 })).rejects.toBeInstanceOf(VersionConflictError);
      await expect(store.append(id, [event(2)], { expectedVersion: 7 })).rejects.toMatchObject({
        code: 'STORE.VERSION_CONFLICT',
      });
      expect(await store.streamVersion(id)).toBe(1);
      await store.append(id, [event(2)], { expectedVersion: 1 });
      await store.append(id, [event(3)], { expectedVersion: 'any' });
      expect((await store.readStream(id)).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
    });

    it('reports version 0 for a stream that does not exist and reads it as empty', async () => {
      const id = streamId();
      expect(await store.streamVersion(id)).toBe(0);
      expect(await store.readStream(id)).toEqual([]);
    });

    it('appends a repeated command id once and returns the first result', async () => {
      const id = streamId();
      const commandId = randomUUID();
      const first = await store.append(id, [event(1)], { expectedVersion: 'no_stream', commandId });
      const again = await store.append(id, [event(1)], { expectedVersion: 'no_stream', commandId });
      expect(again).toEqual({ ...first, duplicate: true });
      expect(await store.readStream(id)).toHaveLength(1);
    });

    it('stores the request fingerprint with the command id and returns it from findCommand', async () => {
      const id = streamId();
      const hashed = randomUUID();
      const plain = randomUUID();
      const first = await store.append(id, [event(1)], { expectedVersion: 'no_stream', commandId: hashed, requestHash: 'sha256:abc' });
      await store.append(id, [event(2)], { expectedVersion: 1, commandId: plain });
      expect(await store.findCommand(hashed)).toEqual({ streamId: id, version: 1, position: first.firstPosition, requestHash: 'sha256:abc' });
      expect(await store.findCommand(plain)).toMatchObject({ streamId: id, version: 2, requestHash: null });
      expect(await store.findCommand(randomUUID())).toBeNull();
    });

    it('refuses a command id reused for another stream', async () => {
      const commandId = randomUUID();
      await store.append(streamId(), [event(1)], { expectedVersion: 'any', commandId });
      await expect(store.append(streamId(), [event(1)], { expectedVersion: 'any', commandId })).rejects.toBeInstanceOf(
        CommandIdReusedError,
      );
    });

    it('rejects malformed stream ids, event types and empty appends', async () => {
      await expect(store.append('no dash', [event(1)], { expectedVersion: 'any' })).rejects.toBeInstanceOf(
        InvalidAppendError,
      );
      await expect(
        store.append(streamId(), [{ type: 'not.pascal', data: {} }], { expectedVersion: 'any' }),
      ).rejects.toMatchObject({ code: 'GENERIC.VALIDATION' });
      await expect(store.append(streamId(), [], { expectedVersion: 'any' })).rejects.toBeInstanceOf(InvalidAppendError);
    });

    it('reads a version range and the state as of a global position or a time', async () => {
      const id = streamId();
      await store.append(id, [event(1)], { expectedVersion: 'no_stream' });
      await new Promise((resolve) => setTimeout(resolve, 15));
      const between = new Date();
      await new Promise((resolve) => setTimeout(resolve, 15));
      const second = await store.append(id, [event(2), event(3)], { expectedVersion: 1 });
      expect((await store.readStream(id, { fromVersion: 2, toVersion: 2 })).map((e) => e.streamVersion)).toEqual([2]);
      const asOfPosition = await store.readStream(id, { asOf: { globalPosition: second.firstPosition } });
      expect(asOfPosition.map((e) => e.streamVersion)).toEqual([1, 2]);
      const asOfTime = await store.readStream(id, { asOf: { time: between } });
      expect(asOfTime.map((e) => e.streamVersion)).toEqual([1]);
    });

    it('reads all events after a position in order, in pages', async () => {
      const ids = [streamId(), streamId()];
      const start = await lastPosition(store);
      await store.append(ids[0]!, [event(1)], { expectedVersion: 'no_stream' });
      await store.append(ids[1]!, [event(2), event(3)], { expectedVersion: 'no_stream' });
      await store.append(ids[0]!, [event(4)], { expectedVersion: 1 });
      // The Postgres store holds committed events back while older transactions elsewhere in the cluster run.
      for (let tries = 0; (await store.readAll(start, 10)).filter((e) => ids.includes(e.streamId)).length < 4 && tries < 200; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const page1 = await store.readAll(start, 3);
      const last = page1[page1.length - 1]!;
      const page2 = await store.readAll({ transactionId: last.transactionId, globalPosition: last.globalPosition }, 10);
      const mine = [...page1, ...page2].filter((e) => ids.includes(e.streamId)).map((e) => (e.data as { n: number }).n);
      expect(mine).toEqual([1, 2, 3, 4]);
    });

    describe('appendMany', () => {
      it('appends several streams at once, each from its own version, with positions ascending in the order given', async () => {
        const [a, b, c] = [streamId(), streamId(), streamId()];
        await store.append(b, [event(0)], { expectedVersion: 'no_stream' });
        const results = await store.appendMany([
          { streamId: a, events: [event(1), event(2)], expectedVersion: 'no_stream', commandId: `${a}:cmd` },
          { streamId: b, events: [event(3)], expectedVersion: 1 },
          { streamId: c, events: [event(4)], expectedVersion: 'any' },
        ]);
        expect(results.map((r) => [r.streamId, r.nextVersion, r.duplicate])).toEqual([
          [a, 2, false],
          [b, 2, false],
          [c, 1, false],
        ]);
        const streams = await store.readStreams([a, b, c, streamId()]);
        expect([...streams.values()].map((events) => events.map((e) => (e.data as { n: number }).n))).toEqual([[1, 2], [0, 3], [4], []]);
        const appended = [...streams.get(a)!, streams.get(b)![1]!, ...streams.get(c)!];
        expect(new Set(appended.map((e) => e.transactionId)).size).toBe(1);
        const positions = appended.map((e) => e.globalPosition);
        expect([...positions].sort((x, y) => (x < y ? -1 : 1))).toEqual(positions);
        expect(results.map((r) => r.firstPosition)).toEqual([positions[0], positions[2], positions[3]]);
        expect(await store.findCommand(`${a}:cmd`)).toMatchObject({ streamId: a, version: 2, position: positions[0] });
        const found = await store.findCommands([`${a}:cmd`, `${b}:none`]);
        expect([...found.entries()]).toEqual([[`${a}:cmd`, { streamId: a, version: 2, position: positions[0], requestHash: null }]]);
      });

      it('rejects the whole append when any stream is not at its expected version', async () => {
        const [a, b] = [streamId(), streamId()];
        await store.append(b, [event(0)], { expectedVersion: 'no_stream' });
        await expect(
          store.appendMany([
            { streamId: a, events: [event(1)], expectedVersion: 'no_stream', commandId: `${a}:cmd` },
            { streamId: b, events: [event(2)], expectedVersion: 5 },
          ]),
        ).rejects.toBeInstanceOf(VersionConflictError);
        await expect(
          store.appendMany([
            { streamId: a, events: [event(1)], expectedVersion: 'no_stream' },
            { streamId: b, events: [event(2)], expectedVersion: 'no_stream' },
          ]),
        ).rejects.toMatchObject({ code: 'STORE.VERSION_CONFLICT' });
        expect(await store.streamVersion(a)).toBe(0);
        expect(await store.streamVersion(b)).toBe(1);
        expect(await store.findCommand(`${a}:cmd`)).toBeNull();
      });

      it('answers a part whose command id was applied as a duplicate and appends the others', async () => {
        const [a, b] = [streamId(), streamId()];
        const first = await store.append(a, [event(1)], { expectedVersion: 'no_stream', commandId: `${a}:cmd` });
        const results = await store.appendMany([
          { streamId: a, events: [event(1)], expectedVersion: 'no_stream', commandId: `${a}:cmd` },
          { streamId: b, events: [event(2)], expectedVersion: 'no_stream', commandId: `${b}:cmd` },
        ]);
        expect(results[0]).toEqual({ ...first, duplicate: true });
        expect(results[1]).toMatchObject({ streamId: b, nextVersion: 1, duplicate: false });
        expect(await store.streamVersion(a)).toBe(1);
        await expect(
          store.appendMany([{ streamId: streamId(), events: [event(3)], expectedVersion: 'any', commandId: `${a}:cmd` }]),
        ).rejects.toBeInstanceOf(CommandIdReusedError);
      });

      it('refuses a stream named twice, a part without events and an empty append', async () => {
        const a = streamId();
        await expect(
          store.appendMany([
            { streamId: a, events: [event(1)], expectedVersion: 'any' },
            { streamId: a, events: [event(2)], expectedVersion: 'any' },
          ]),
        ).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(store.appendMany([{ streamId: a, events: [], expectedVersion: 'any' }])).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(store.appendMany([])).rejects.toBeInstanceOf(InvalidAppendError);
        expect(await store.streamVersion(a)).toBe(0);
      });

      it('reads several streams as of a time', async () => {
        const [a, b] = [streamId(), streamId()];
        await store.appendMany([
          { streamId: a, events: [event(1)], expectedVersion: 'no_stream' },
          { streamId: b, events: [event(2)], expectedVersion: 'no_stream' },
        ]);
        await new Promise((resolve) => setTimeout(resolve, 15));
        const between = new Date();
        await new Promise((resolve) => setTimeout(resolve, 15));
        await store.append(a, [event(3)], { expectedVersion: 1 });
        const then = await store.readStreams([a, b], { asOf: { time: between } });
        expect([...then.entries()].map(([id, events]) => [id, events.map((e) => e.streamVersion)])).toEqual([
          [a, [1]],
          [b, [1]],
        ]);
      });
    });

    it('advances a checkpoint only from the position it holds', async () => {
      const name = `test:${randomUUID()}`;
      expect(await store.loadCheckpoint(name)).toEqual(START);
      const next = { transactionId: 10n, globalPosition: 5n };
      expect(await store.advanceCheckpoint(name, START, next)).toBe(true);
      expect(await store.advanceCheckpoint(name, START, { transactionId: 11n, globalPosition: 6n })).toBe(false);
      expect(await store.loadCheckpoint(name)).toEqual(next);
      await store.resetCheckpoint(name);
      expect(await store.loadCheckpoint(name)).toEqual(START);
    });
  });
}

async function lastPosition(store: EventStore) {
  let position = START;
  for (;;) {
    const page = await store.readAll(position, 1000);
    if (page.length === 0) return position;
    const last = page[page.length - 1]!;
    position = { transactionId: last.transactionId, globalPosition: last.globalPosition };
  }
}
