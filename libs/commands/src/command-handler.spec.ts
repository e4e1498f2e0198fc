import { InMemoryEventStore, type AppendOptions, type AppendResult, type NewEvent, type StreamAppend } from '#rollgate/event-store';
import { foldEvents, type AggregateType } from './aggregate.js';
import { CommandHandler } from './command-handler.js';
import { EventTooLargeError } from './command.errors.js';
import { DEFAULT_MAX_EVENT_BYTES, eventWireBytes } from './event-size.js';
import { canonicalJson, requestHashOf } from './request-hash.js';

type CounterEvent = { type: 'Added'; data: { by: number } } | { type: 'Reset'; data: Record<string, never> };
const counter: AggregateType<number, CounterEvent> = {
  name: 'counter',
  area: 'TEST',
  eventTypes: new Set(['Added', 'Reset']),
  initialState: 0,
  evolve: (state, event) => (event.type === 'Added' ? state + event.data.by : 0),
};
type Add = { by: number };
const decideAdd = (command: Add, state: number): CounterEvent[] => {
  if (command.by < 0) throw new Error('negative');
  if (command.by === 0) return [];
  return state + command.by > 10 ? [{ type: 'Reset', data: {} }] : [{ type: 'Added', data: { by: command.by } }];
};

/** Loses the next `interlopers` races: another writer appends just before each append. */
class RacingStore extends InMemoryEventStore {
  interlopers = 0;
  override async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.interlopers > 0) {
      this.interlopers--;
      await super.append(streamId, [{ type: 'Added', data: { by: 1 } }], { expectedVersion: 'any' });
    }
    return super.append(streamId, events, options);
  }

  override async appendMany(parts: readonly StreamAppend[]): Promise<AppendResult[]> {
    if (this.interlopers > 0) {
      this.interlopers--;
      await super.append(parts[parts.length - 1]!.streamId, [{ type: 'Added', data: { by: 1 } }], { expectedVersion: 'any' });
    }
    return super.appendMany(parts);
  }
}

const origin = (commandId: string) => ({ commandId, actor: 'alice', reason: 'why', correlationId: 'corr' });

describe(CommandHandler.name, () => {
  let store: RacingStore;
  let handler: CommandHandler;
  const add = (commandId: string, by: number, expectedVersion?: number) =>
    handler.handle(counter, decideAdd, { origin: origin(commandId), key: 'c1', commandType: 'Add', command: { by }, expectedVersion });

  beforeEach(() => {
    store = new RacingStore();
    handler = new CommandHandler({ store, retry: { maxAttempts: 3, delayMs: () => 0 } });
  });

  it('folds, decides and appends with the command chain in the metadata', async () => {
    const first = await add('a', 2);
    const second = await add('b', 3);
    expect([first, second].map((o) => [o.state, o.version, o.appended, o.duplicate])).toEqual([[2, 1, 1, false], [5, 2, 1, false]]);
    const events = await store.readStream('counter-c1');
    expect(events[1]!.metadata).toEqual({ actor: 'alice', reason: 'why', commandId: 'b', correlationId: 'corr', causationId: 'b' });
    expect(foldEvents(counter, events)).toEqual({ state: 5, version: 2 });
  });

  it('answers a repeated command id with its first result and appends nothing', async () => {
    await add('a', 2);
    await add('b', 3);
    const again = await add('a', 2);
    expect(again).toMatchObject({ state: 2, version: 1, duplicate: true, appended: 0 });
    expect(await store.streamVersion('counter-c1')).toBe(2);
  });

  it('binds a command id to its request: another command type or payload is IDEMPOTENCY_KEY_REUSED and changes nothing', async () => {
    await add('a', 2);
    const events = await store.readStream('counter-c1');
    await expect(add('a', 3)).rejects.toMatchObject({
      name: 'IdempotencyKeyReusedError',
      code: 'TEST.IDEMPOTENCY_KEY_REUSED',
      details: { commandId: 'a', streamId: 'counter-c1', commandType: 'Add' },
    });
    await expect(
      handler.handle(counter, decideAdd, { origin: origin('a'), key: 'c1', commandType: 'Double', command: { by: 2 } }),
    ).rejects.toMatchObject({ code: 'TEST.IDEMPOTENCY_KEY_REUSED' });
    expect(await store.readStream('counter-c1')).toEqual(events);
    // The same request (keys in another order) still replays its first result.
    const again = await handler.handle(counter, decideAdd, {
      origin: origin('a'),
      key: 'c1',
      commandType: 'Add',
      command: JSON.parse('{"by":2}') as Add,
    });
    expect(again).toMatchObject({ state: 2, version: 1, duplicate: true });
    expect(await store.findCommand('a')).toMatchObject({ requestHash: requestHashOf('Add', { by: 2 }) });
  });

  it('checks the fingerprint of a concurrent request that won the race with the same command id', async () => {
    const racing = new (class extends InMemoryEventStore {
      override async findCommand(commandId: string) {
        return this.hidden ? null : super.findCommand(commandId);
      }
      hidden = true;
      override async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
        if (this.hidden) {
          this.hidden = false;
          await super.append(streamId, [{ type: 'Added', data: { by: 5 } }], { ...options, requestHash: requestHashOf('Add', { by: 5 }) });
        }
        return super.append(streamId, events, options);
      }
    })();
    const raced = new CommandHandler({ store: racing, retry: { maxAttempts: 3, delayMs: () => 0 } });
    await expect(
      raced.handle(counter, decideAdd, { origin: origin('a'), key: 'c1', commandType: 'Add', command: { by: 1 } }),
    ).rejects.toMatchObject({ code: 'TEST.IDEMPOTENCY_KEY_REUSED' });
    expect(await racing.streamVersion('counter-c1')).toBe(1);
  });

  it("takes the caller's fingerprint when given: the same request replays even if the payload it built differs", async () => {
    const viaGateway = (by: number, requestHash: string) =>
      handler.handle(counter, decideAdd, { origin: { ...origin('g'), requestHash }, key: 'c1', commandType: 'Add', command: { by } });
    await viaGateway(2, 'http:PUT /c1 {"by":"now"}');
    expect(await viaGateway(3, 'http:PUT /c1 {"by":"now"}')).toMatchObject({ duplicate: true, state: 2, version: 1 });
    await expect(viaGateway(2, 'http:DELETE /c1')).rejects.toMatchObject({ code: 'TEST.IDEMPOTENCY_KEY_REUSED' });
    expect(await store.streamVersion('counter-c1')).toBe(1);
  });

  it('replays a command id recorded without a fingerprint (before fingerprints existed)', async () => {
    await store.append('counter-c1', [{ type: 'Added', data: { by: 4 } }], { expectedVersion: 'no_stream', commandId: 'old' });
    expect(await add('old', 9)).toMatchObject({ state: 4, version: 1, duplicate: true });
  });

  it('refuses a command id used for another stream', async () => {
    await add('a', 2);
    await expect(
      handler.handle(counter, decideAdd, { origin: origin('a'), key: 'c2', commandType: 'Add', command: { by: 1 } }),
    ).rejects.toMatchObject({ code: 'TEST.COMMAND_ID_CONFLICT', details: { streamId: 'counter-c1' } });
  });

  it('appends nothing for a no-op and lets a decision error through', async () => {
    await add('a', 2);
    expect(await add('b', 0)).toMatchObject({ state: 2, version: 1, appended: 0 });
    await expect(add('c', -1)).rejects.toThrow('negative');
    expect(await store.streamVersion('counter-c1')).toBe(1);
  });

  it('decides again after a lost race and gives up after the policy', async () => {
    await add('a', 2);
    store.interlopers = 2;
    expect(await add('b', 3)).toMatchObject({ state: 7, version: 4 });
    store.interlopers = 3;
    await expect(add('c', 1)).rejects.toMatchObject({ code: 'TEST.VERSION_CONFLICT' });
  });

  it('never retries a pinned version: the conflict is the answer', async () => {
    await add('a', 2);
    await expect(add('b', 1, 0)).rejects.toMatchObject({ code: 'TEST.VERSION_CONFLICT', details: { currentVersion: 1 } });
    store.interlopers = 1;
    await expect(add('c', 1, 1)).rejects.toMatchObject({ code: 'TEST.VERSION_CONFLICT' });
  });

  it('refuses a command whose event would not fit the bus with <AREA>.EVENT_TOO_LARGE, before anything is appended', async () => {
    type Note = { type: 'Noted'; data: { text: string } };
    const notes: AggregateType<string[], Note> = {
      name: 'note',
      area: 'TEST',
      eventTypes: new Set(['Noted']),
      initialState: [],
      evolve: (state, event) => [...state, event.data.text],
    };
    const small = new CommandHandler({ store, maxEventBytes: 4 * 1024 });
    const note = (commandId: string, text: string) =>
      small.handle(notes, (command: { text: string }) => [{ type: 'Noted' as const, data: command }], {
        origin: origin(commandId),
        key: 'n1',
        commandType: 'Note',
        command: { text },
      });
    await note('a', 'x'.repeat(1_000));
    const error = await note('b', 'x'.repeat(4 * 1024)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventTooLargeError);
    expect(error).toMatchObject({
      code: 'TEST.EVENT_TOO_LARGE',
      details: { streamId: 'note-n1', eventType: 'Noted', maxEventBytes: 4 * 1024 },
    });
    expect((error as EventTooLargeError & { details: { eventBytes: number } }).details.eventBytes).toBeGreaterThan(4 * 1024);
    expect(await store.streamVersion('note-n1')).toBe(1);
    expect(await store.findCommand('b')).toBeNull();
    // The default limit sits below NATS's 1 MiB max_payload.
    expect(new CommandHandler({ store }).maxEventBytes).toBe(DEFAULT_MAX_EVENT_BYTES);
    expect(DEFAULT_MAX_EVENT_BYTES).toBeLessThan(1024 * 1024);
  });

  it('loads a past state', async () => {
    await add('a', 2);
    await add('b', 3);
    expect(await handler.load(counter, 'c1', { toVersion: 1 })).toMatchObject({ state: 2, version: 1 });
  });

  it('reports each command to its metrics: applied, noop, duplicate, rejected, failed, and the retries and appends', async () => {
    const handled: string[] = [];
    const appended: number[] = [];
    const retried: string[] = [];
    handler = new CommandHandler({
      store,
      retry: { maxAttempts: 3, delayMs: () => 0 },
      metrics: {
        handled: (command, result, seconds) => {
          expect(seconds).toBeGreaterThanOrEqual(0);
          handled.push(`${command}:${result}`);
        },
        appended: (events) => appended.push(events),
        retried: (command) => retried.push(command),
      },
    });
    await add('a', 2);
    await add('b', 0);
    await add('a', 2);
    await expect(add('a', 5)).rejects.toMatchObject({ code: 'TEST.IDEMPOTENCY_KEY_REUSED' });
    await expect(add('c', -1)).rejects.toThrow('negative');
    store.interlopers = 1;
    await add('d', 1);
    expect(handled).toEqual(['Add:applied', 'Add:noop', 'Add:duplicate', 'Add:rejected', 'Add:failed', 'Add:applied']);
    expect(appended).toEqual([1, 1]);
    expect(retried).toEqual(['Add']);
  });
});

describe(`${CommandHandler.name}.handleMany`, () => {
  let store: RacingStore;
  let handler: CommandHandler;
  let commits: number;
  const request = (commandId: string, key: string, by: number, expectedVersion?: number) => ({
    origin: origin(commandId),
    key,
    commandType: 'Add',
    command: { by },
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
  });
  const bulk = (...requests: ReturnType<typeof request>[]) => handler.handleMany(counter, decideAdd, requests);

  beforeEach(() => {
    store = new RacingStore();
    handler = new CommandHandler({ store, retry: { maxAttempts: 3, delayMs: () => 0 } });
    commits = 0;
    handler.onCommitted(() => commits++);
  });

  it('decides each stream on its own state and appends them all in one transaction, with each command id in its metadata', async () => {
    await add(handler, 'a0', 'c1', 4);
    const outcomes = await bulk(request('a1', 'c1', 2), request('a2', 'c2', 3), request('a3', 'c3', 0));
    expect(outcomes.map((o) => [o.key, o.state, o.version, o.appended, o.duplicate])).toEqual([
      ['c1', 6, 2, 1, false],
      ['c2', 3, 1, 1, false],
      ['c3', 0, 0, 0, false],
    ]);
    const [c1, c2] = [await store.readStream('counter-c1'), await store.readStream('counter-c2')];
    expect(c1[1]!.transactionId).toBe(c2[0]!.transactionId);
    expect(c2[0]!.metadata).toEqual({ actor: 'alice', reason: 'why', commandId: 'a2', correlationId: 'corr', causationId: 'a2' });
    expect(await store.findCommand('a2')).toMatchObject({ streamId: 'counter-c2', version: 1, requestHash: requestHashOf('Add', { by: 3 }) });
    expect(commits).toBe(2);
  });

  it('sent again (after a crash), appends only what is not applied and answers the rest as duplicates', async () => {
    await add(handler, 'b1', 'c1', 2);
    const outcomes = await bulk(request('b1', 'c1', 2), request('b2', 'c2', 5));
    expect(outcomes.map((o) => [o.key, o.state, o.version, o.duplicate])).toEqual([
      ['c1', 2, 1, true],
      ['c2', 5, 1, false],
    ]);
    const again = await bulk(request('b1', 'c1', 2), request('b2', 'c2', 5));
    expect(again.every((o) => o.duplicate)).toBe(true);
    expect([await store.streamVersion('counter-c1'), await store.streamVersion('counter-c2')]).toEqual([1, 1]);
  });

  it('refuses the whole bulk when one request reuses a command id for another request or another stream', async () => {
    await add(handler, 'k1', 'c1', 2);
    await expect(bulk(request('k1', 'c1', 3), request('k2', 'c2', 1))).rejects.toMatchObject({ code: 'TEST.IDEMPOTENCY_KEY_REUSED' });
    await expect(bulk(request('k2', 'c2', 1), request('k1', 'c3', 2))).rejects.toMatchObject({ code: 'TEST.COMMAND_ID_CONFLICT' });
    expect(await store.streamVersion('counter-c2')).toBe(0);
  });

  it('refuses a stream or a command id named twice, and a decision error, appending nothing', async () => {
    await expect(bulk(request('d1', 'c1', 1), request('d2', 'c1', 1))).rejects.toMatchObject({
      code: 'GENERIC.VALIDATION',
      details: { problems: [{ path: 'items[1].key' }] },
    });
    await expect(bulk(request('d1', 'c1', 1), request('d1', 'c2', 1))).rejects.toMatchObject({ code: 'GENERIC.VALIDATION' });
    await expect(bulk(request('d1', 'c1', 1), request('d2', 'c2', -1))).rejects.toThrow('negative');
    expect(await store.streamVersion('counter-c1')).toBe(0);
  });

  it('decides everything again after a lost race on any stream, and gives up after the policy', async () => {
    store.interlopers = 2;
    const outcomes = await bulk(request('r1', 'c1', 1), request('r2', 'c2', 1));
    expect(outcomes.map((o) => [o.state, o.version])).toEqual([
      [1, 1],
      [3, 3],
    ]);
    store.interlopers = 3;
    await expect(bulk(request('r3', 'c1', 1), request('r4', 'c2', 1))).rejects.toMatchObject({ code: 'TEST.VERSION_CONFLICT' });
    expect(await store.streamVersion('counter-c1')).toBe(1);
  });

  it('never retries a pinned version', async () => {
    await add(handler, 'p0', 'c1', 1);
    await expect(bulk(request('p1', 'c1', 1, 0), request('p2', 'c2', 1))).rejects.toMatchObject({
      code: 'TEST.VERSION_CONFLICT',
      details: { currentVersion: 1 },
    });
    store.interlopers = 1;
    await expect(bulk(request('p1', 'c1', 1, 1), request('p2', 'c2', 1))).rejects.toMatchObject({ code: 'TEST.VERSION_CONFLICT' });
    expect(await store.streamVersion('counter-c2')).toBe(1);
  });

  it('refuses the bulk when one event would not fit the bus', async () => {
    const small = new CommandHandler({ store, maxEventBytes: 2 * 1024 });
    const big = { ...request('e2', 'c2', 1), origin: { ...origin('e2'), reason: 'x'.repeat(2 * 1024) } };
    await expect(small.handleMany(counter, decideAdd, [request('e1', 'c1', 1), big])).rejects.toBeInstanceOf(EventTooLargeError);
    expect(await store.streamVersion('counter-c1')).toBe(0);
  });
});

const add = (handler: CommandHandler, commandId: string, key: string, by: number) =>
  handler.handle(counter, decideAdd, { origin: origin(commandId), key, commandType: 'Add', command: { by } });

describe(canonicalJson.name, () => {
  it('sorts keys at every depth, keeps array order and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: undefined, w: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"w":0,"y":1}]},"b":1}');
    expect(requestHashOf('Add', { by: 1, z: undefined })).toBe(requestHashOf('Add', { by: 1 }));
    expect(requestHashOf('Add', [1, 2])).not.toBe(requestHashOf('Add', [2, 1]));
    expect(requestHashOf('Add', { by: 1 })).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe(eventWireBytes.name, () => {
  it('bounds what the outbox publishes: the body encodeEvent writes plus its headers', () => {
    const data = { flag: { key: 'k', users: Array.from({ length: 500 }, (_, i) => `user-${i}-\u00e9`) } };
    const metadata = { actor: 'alice', commandId: 'c'.repeat(36), correlationId: 'r'.repeat(36), causationId: 'c'.repeat(36) };
    const body = JSON.stringify({
      type: 'FlagCreated', data, metadata, streamId: 'flag-k', streamVersion: 2_147_483_647, eventId: 'e'.repeat(36),
      schemaVersion: 1, globalPosition: '9'.repeat(19), transactionId: '9'.repeat(20), recordedAt: new Date().toISOString(),
    });
    const headers = ['Rg-Event-Type: FlagCreated', 'Rg-Stream-Id: flag-k', 'Rg-Correlation-Id: ' + 'r'.repeat(36), 'Nats-Msg-Id: ' + 'e'.repeat(36)].join('\r\n');
    expect(eventWireBytes('flag-k', { type: 'FlagCreated', data, metadata })).toBeGreaterThan(Buffer.byteLength(body) + Buffer.byteLength(headers) + 300);
  });
});

describe(`${CommandHandler.name} kept folds`, () => {
  it('decides on the kept fold plus only the newer events, and a state a caller changed does not leak into it', async () => {
    const store = new InMemoryEventStore();
    const reads: Array<number | undefined> = [];
    const readStream = store.readStream.bind(store);
    store.readStream = async (streamId, options) => {
      reads.push(options?.fromVersion);
      return readStream(streamId, options);
    };
    type Tally = { counts: number[] };
    type Counted = { type: 'Counted'; data: { n: number } };
    const tally: AggregateType<Tally, Counted> = {
      name: 'tally',
      area: 'TEST',
      eventTypes: new Set(['Counted']),
      initialState: { counts: [] },
      evolve: (state, event) => ({ counts: [...state.counts, event.data.n] }),
    };
    const handler = new CommandHandler({ store });
    const count = (commandId: string, n: number) =>
      handler.handle(tally, (command: { n: number }) => [{ type: 'Counted' as const, data: command }], { origin: origin(commandId), key: 't1', commandType: 'Count', command: { n } });
    const first = await count('a', 1);
    first.state.counts.push(666);
    // Another writer appends behind the handler's back: the next decision still sees it.
    await store.append('tally-t1', [{ type: 'Counted', data: { n: 2 } }], { expectedVersion: 1 });
    const third = await count('b', 3);
    expect(third.state.counts).toEqual([1, 2, 3]);
    const latest = await handler.loadLatest(tally, 't1');
    expect([latest.state, latest.version]).toEqual([{ counts: [1, 2, 3] }, 3]);
    expect(reads).toEqual([undefined, 1, 3]);
  });
});
