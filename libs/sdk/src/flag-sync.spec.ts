import fc from 'fast-check';
import { evolveFlag, type EventWire, type FlagDefinition, type FlagEvent, type FlagSnapshot } from '#rollgate/contracts';
import { FlagSync, restrictToEnvironment } from './flag-sync.js';

const ENV = 'prod';
let position = 0;

function wire(streamId: string, streamVersion: number, event: { type: string; data: unknown }, metadata = {}): EventWire {
  position++;
  return {
    ...event, metadata, streamId, streamVersion, eventId: `e-${streamId}-${streamVersion}`, schemaVersion: 1,
    globalPosition: String(position), transactionId: String(position), recordedAt: new Date(position).toISOString(),
  };
}

const created = (key: string): { type: 'FlagCreated'; data: FlagEvent['data'] } => ({
  type: 'FlagCreated',
  data: { flag: { key, name: key, type: 'boolean', environments: { [ENV]: { enabled: false, defaultRollout: { type: 'all_users' } } } } },
});
const toggled = (environment: string, enabled: boolean) => ({ type: 'FlagToggled', data: { environment, enabled } });

/** The truth: folds a history per flag, for snapshots at any point and the expected state at any version. */
function fold(history: readonly EventWire[], upTo = history.length): Map<string, FlagDefinition> {
  const state = new Map<string, FlagDefinition>();
  for (const e of history.slice(0, upTo)) {
    const key = e.streamId.slice('flag-'.length);
    const next = evolveFlag(state.get(key) ?? null, e as unknown as FlagEvent, e.streamVersion);
    if (next !== null) state.set(key, next);
  }
  return state;
}
const snapshotOf = (history: readonly EventWire[], upTo: number): FlagSnapshot => ({
  environment: ENV,
  position: upTo === 0 ? '0' : history[upTo - 1]!.globalPosition,
  flags: [...fold(history, upTo).values()],
  segments: [],
});
const loaded = (snapshot: FlagSnapshot): FlagSync => {
  const sync = new FlagSync(ENV);
  sync.loadSnapshot(snapshot);
  return sync;
};
const stateOf = (sync: FlagSync): Map<string, FlagDefinition> => new Map([...sync.allFlags()].map((f) => [f.key, f]));

describe(FlagSync.name, () => {
  it('applies the next version, skips duplicates, and reports the cause of each change', () => {
    const a1 = wire('flag-a', 1, created('a'), { actor: 'alice' });
    const a2 = wire('flag-a', 2, toggled(ENV, true), { actor: 'bob', reason: 'launch' });
    const sync = new FlagSync(ENV);
    expect(sync.loadSnapshot({ environment: ENV, position: '0', flags: [], segments: [] }).resnapshot).toBe(false);
    expect(sync.receive(a1).ops).toHaveLength(1);
    const second = sync.receive(a2);
    expect(second.ops[0]).toMatchObject({ kind: 'flag', key: 'a', oldVersion: 1, newVersion: 2, relevant: true, event: a2 });
    expect(sync.receive(a2)).toMatchObject({ ops: [], duplicates: 1, resnapshot: false });
    expect(sync.receive(a1)).toMatchObject({ ops: [], duplicates: 1 });
    expect(sync.flag('a')?.environments[ENV]?.enabled).toBe(true);
    expect(sync.lastApplied).toEqual({ eventId: a2.eventId, recordedAt: a2.recordedAt, position: a2.globalPosition });
  });

  it('on a gap stops applying, buffers, and replays the buffer on top of the next snapshot', () => {
    const history = [wire('flag-a', 1, created('a')), wire('flag-a', 2, toggled(ENV, true)), wire('flag-a', 3, toggled(ENV, false)), wire('flag-a', 4, toggled(ENV, true))];
    const sync = new FlagSync(ENV);
    sync.loadSnapshot(snapshotOf(history, 1));
    const gap = sync.receive(history[2]!);
    expect(gap.resnapshot).toBe(true);
    expect(sync.mode).toBe('awaiting-snapshot');
    expect(sync.versionOf('a')).toBe(1);
    expect(sync.receive(history[3]!).ops).toEqual([]);
    // The fresh snapshot includes v2 and v3; v4 comes from the buffer.
    const after = sync.loadSnapshot(snapshotOf(history, 3));
    expect(after.resnapshot).toBe(false);
    expect(after.duplicates).toBe(1);
    expect(sync.versionOf('a')).toBe(4);
    expect(stateOf(sync)).toEqual(fold(history));
  });

  it('an unknown flag whose first event is not FlagCreated is a gap; FlagCreated of a new flag applies', () => {
    const history = [wire('flag-b', 1, created('b')), wire('flag-b', 2, toggled(ENV, true)), wire('flag-c', 1, created('c'))];
    const sync = new FlagSync(ENV);
    sync.loadSnapshot(snapshotOf(history, 0));
    expect(sync.receive(history[2]!).ops).toHaveLength(1);
    expect(sync.receive(history[1]!).resnapshot).toBe(true);
    expect(sync.loadSnapshot(snapshotOf(history, 3)).resnapshot).toBe(false);
    expect(stateOf(sync)).toEqual(fold(history));
  });

  it('keeps only its environment, and marks changes of other environments as not relevant', () => {
    const history = [wire('flag-a', 1, created('a')), wire('flag-a', 2, toggled('dev', true))];
    const sync = new FlagSync(ENV);
    sync.loadSnapshot(snapshotOf(history, 1));
    const result = sync.receive(history[1]!);
    expect(result.ops[0]).toMatchObject({ kind: 'flag', newVersion: 2, relevant: false });
    expect(Object.keys(sync.flag('a')!.environments)).toEqual([ENV]);
  });

  it('a snapshot reports changed, new and vanished flags', () => {
    const h = [wire('flag-a', 1, created('a')), wire('flag-b', 1, created('b')), wire('flag-a', 2, toggled(ENV, true))];
    const sync = new FlagSync(ENV);
    sync.loadSnapshot(snapshotOf(h, 2));
    const next = sync.loadSnapshot({ ...snapshotOf(h, 3), flags: [...fold(h).values()].filter((f) => f.key === 'a') });
    expect(next.ops.map((op) => `${op.kind}:${op.key}`).sort()).toEqual(['flag-removed:b', 'flag:a']);
    expect(next.reload?.flags.map((f) => f.key)).toEqual(['a']);
  });

  it('applies segment events in version order; a removed segment is known from the snapshot, so its old events are duplicates', () => {
    const sync = new FlagSync(ENV);
    sync.loadSnapshot({ environment: ENV, position: '0', flags: [], segments: [] });
    const defined = wire('segment-beta', 1, { type: 'SegmentDefined', data: { segment: { key: 'beta', conditions: [] } } });
    expect(sync.receive(defined).ops).toEqual([{ kind: 'segment', key: 'beta', segment: { key: 'beta', conditions: [], version: 1 }, event: defined }]);
    expect(sync.receive(defined).duplicates).toBe(1);
    const removed = wire('segment-beta', 2, { type: 'SegmentRemoved', data: {} });
    expect(sync.receive(removed).ops[0]).toMatchObject({ kind: 'segment', segment: null });
    expect([...sync.allSegments()]).toEqual([]);
    expect(sync.toSnapshot().removedSegments).toEqual([{ key: 'beta', version: 2 }]);
    // A later snapshot lacks the segment but names its last version; the old events still in flight are old news.
    sync.requestSnapshot();
    sync.receive(defined);
    sync.receive(removed);
    const after = sync.loadSnapshot({ environment: ENV, position: removed.globalPosition, flags: [], segments: [], removedSegments: [{ key: 'beta', version: 2 }] });
    expect(after).toMatchObject({ resnapshot: false, duplicates: 2 });
    // A hole in a segment's versions is a gap, as for flags.
    expect(sync.receive(wire('segment-beta', 4, { type: 'SegmentDefined', data: { segment: { key: 'beta', conditions: [] } } })).resnapshot).toBe(true);
  });

  it('builds a member list from its chunks in order and re-snapshots when one is missing', () => {
    const sync = new FlagSync(ENV);
    sync.loadSnapshot({ environment: ENV, position: '0', flags: [], segments: [] });
    const list = (version: number, type: 'SegmentMembersAdded' | 'SegmentMembersRemoved', members: string[]) =>
      wire('segment-vip', version, { type, data: { members } });
    sync.receive(wire('segment-vip', 1, { type: 'SegmentDefined', data: { segment: { key: 'vip', conditions: [], memberAttribute: 'userId' } } }));
    sync.receive(list(2, 'SegmentMembersAdded', ['a', 'b']));
    sync.receive(list(3, 'SegmentMembersAdded', ['c']));
    sync.receive(list(4, 'SegmentMembersRemoved', ['a']));
    expect([...sync.allSegments()]).toEqual([{ key: 'vip', conditions: [], memberAttribute: 'userId', members: ['b', 'c'], version: 4 }]);
    expect(sync.receive(list(6, 'SegmentMembersAdded', ['e']))).toMatchObject({ resnapshot: true, ops: [] });
    expect([...sync.allSegments()][0]!.members).toEqual(['b', 'c']);
  });

  it('drops its buffer past maxPending and takes one more snapshot after the one in flight', () => {
    const sync = new FlagSync(ENV, { maxPending: 2 });
    const h = [wire('flag-a', 1, created('a')), wire('flag-a', 2, toggled(ENV, true)), wire('flag-a', 3, toggled(ENV, false))];
    for (const e of h) sync.receive(e);
    expect(sync.loadSnapshot(snapshotOf(h, 0)).resnapshot).toBe(true);
    expect(sync.mode).toBe('awaiting-snapshot');
    expect(sync.loadSnapshot(snapshotOf(h, 3)).resnapshot).toBe(false);
    expect(stateOf(sync)).toEqual(fold(h));
  });

  it('a forged event at the next version never makes the real one a duplicate: the doubt re-snapshots', () => {
    // Real history: created (disabled), enabled in prod, then a change in another environment.
    const history = [wire('flag-a', 1, created('a')), wire('flag-a', 2, toggled(ENV, true)), wire('flag-a', 3, toggled('dev', true))];
    // Someone who can publish into the stream sends a well-formed event at version 2 first.
    const forged: EventWire = { ...wire('flag-a', 2, toggled(ENV, false)), eventId: 'forged-a-2' };
    const truth = new Map([...fold(history).entries()].map(([k, f]) => [k, restrictToEnvironment(f, ENV)]));

    const sync = new FlagSync(ENV);
    sync.loadSnapshot(snapshotOf(history, 1));
    expect(sync.receive(forged).ops).toHaveLength(1); // version 2 = local + 1: it cannot be told apart yet
    const real2 = sync.receive(history[1]!);
    expect(real2).toMatchObject({ resnapshot: true, duplicates: 0 }); // same version, another event id: doubt
    expect(sync.mode).toBe('awaiting-snapshot');
    expect(sync.receive(history[2]!).ops).toEqual([]); // held until the snapshot
    // The flags service answers with the real state at version 2; the buffer brings version 3 on top.
    const after = sync.loadSnapshot(snapshotOf(history, 2));
    expect(after.resnapshot).toBe(false);
    expect(sync.mode).toBe('live');
    expect(sync.versionOf('a')).toBe(3);
    expect(stateOf(sync)).toEqual(truth);
    expect(stateOf(sync)).toEqual(stateOf(loaded(snapshotOf(history, 3))));
    expect(sync.flag('a')?.environments[ENV]?.enabled).toBe(true);
    expect(sync.lastApplied?.eventId).toBe(history[2]!.eventId);

    // The forged event again, now below what the snapshot vouches for: a duplicate by version, no more doubt.
    expect(sync.receive(forged)).toMatchObject({ ops: [], duplicates: 1, resnapshot: false });
    // The real event redelivered is a plain duplicate too.
    expect(sync.receive(history[2]!)).toMatchObject({ ops: [], duplicates: 1, resnapshot: false });
    expect(stateOf(sync)).toEqual(truth);
  });

  it('a forged event after the real one at the same version re-snapshots and changes nothing', () => {
    const history = [wire('flag-a', 1, created('a')), wire('flag-a', 2, toggled(ENV, true)), wire('flag-a', 3, toggled(ENV, false))];
    const forged: EventWire = { ...wire('flag-a', 2, toggled(ENV, false)), eventId: 'forged-a-2' };
    const sync = new FlagSync(ENV);
    sync.loadSnapshot(snapshotOf(history, 1));
    sync.receive(history[1]!);
    expect(sync.receive(forged).resnapshot).toBe(true);
    sync.loadSnapshot(snapshotOf(history, 2));
    expect(sync.receive(history[2]!).ops).toHaveLength(1);
    expect(stateOf(sync)).toEqual(fold(history));
  });

  it('a forged segment event far ahead does not hide the real ones that follow', () => {
    const sync = new FlagSync(ENV);
    sync.loadSnapshot({ environment: ENV, position: '0', flags: [], segments: [{ key: 'beta', conditions: [], version: 3 }] });
    const forged: EventWire = { ...wire('segment-beta', 1000, { type: 'SegmentRemoved', data: {} }), eventId: 'forged-beta' };
    expect(sync.receive(forged)).toMatchObject({ resnapshot: true, ops: [] });
    const real: EventWire = wire('segment-beta', 4, { type: 'SegmentDefined', data: { segment: { key: 'beta', conditions: [{ attribute: 'plan', operator: 'eq', values: ['pro'] }] } } });
    expect(sync.receive(real)).toMatchObject({ resnapshot: true, duplicates: 0 });
    const after = sync.loadSnapshot({ environment: ENV, position: real.globalPosition, flags: [], segments: [{ key: 'beta', conditions: [], version: 4 }] });
    expect(after.resnapshot).toBe(true);
    // The forged event still sits in the buffer after the real one: it stays a gap, never applied.
    expect([...sync.allSegments()]).toEqual([{ key: 'beta', conditions: [], version: 4 }]);
  });

  it('property: any delivery with duplicates, drops and reordering never yields a wrong state, and a snapshot on request yields the exact final state', () => {
    const keys = ['a', 'b', 'c'];
    const step = fc.record({ key: fc.constantFrom(...keys), env: fc.constantFrom(ENV, 'dev'), on: fc.boolean() });
    const delivery = fc.constantFrom('deliver', 'deliver', 'deliver', 'duplicate', 'drop', 'swap');
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.array(delivery, { minLength: 60, maxLength: 60 }),
        fc.nat(),
        fc.nat(),
        (steps, plan, subscribeAtSeed, snapshotLagSeed) => {
          // Build the committed history: each flag's first event is its creation.
          const history: EventWire[] = [];
          const versions = new Map<string, number>();
          for (const s of steps) {
            const v = (versions.get(s.key) ?? 0) + 1;
            versions.set(s.key, v);
            history.push(wire(`flag-${s.key}`, v, v === 1 ? created(s.key) : toggled(s.env, s.on)));
          }
          // The client subscribes at `subscribeAt`; its first snapshot reflects at least everything before.
          const subscribeAt = subscribeAtSeed % (history.length + 1);
          const feed = history.slice(subscribeAt);
          const delivered: EventWire[] = [];
          let dropped = false;
          for (let i = 0; i < feed.length; i++) {
            const action = plan[i % plan.length]!;
            if (action === 'drop') dropped = true;
            else if (action === 'duplicate') delivered.push(feed[i]!, feed[i]!);
            else if (action === 'swap' && i + 1 < feed.length) {
              delivered.push(feed[i + 1]!, feed[i]!);
              i++;
            } else delivered.push(feed[i]!);
          }
          const sync = new FlagSync(ENV);
          const truthAt = (key: string, version: number) => {
            const upTo = history.findIndex((e) => e.streamId === `flag-${key}` && e.streamVersion === version) + 1;
            return restrictToEnvironment(fold(history, upTo).get(key)!, ENV);
          };
          const assertPrefixConsistent = () => {
            for (const flag of sync.allFlags()) expect(flag).toEqual(truthAt(flag.key, flag.version));
          };
          const snapshotAt = subscribeAt + (snapshotLagSeed % (feed.length + 1));
          let seen = 0;
          let maxSeen = subscribeAt;
          for (const e of delivered) {
            maxSeen = Math.max(maxSeen, history.indexOf(e) + 1);
            const result = sync.receive(e);
            if (++seen === 1 || result.resnapshot) {
              // Answer with a snapshot of everything published so far (at least up to the first snapshot point).
              const res = sync.loadSnapshot(snapshotOf(history, Math.max(maxSeen, seen === 1 ? snapshotAt : 0)));
              if (res.resnapshot) sync.loadSnapshot(snapshotOf(history, Math.max(maxSeen, snapshotAt)));
            }
            assertPrefixConsistent();
          }
          if (seen === 0) sync.loadSnapshot(snapshotOf(history, history.length));
          const final = new Map([...fold(history).entries()].map(([k, f]) => [k, restrictToEnvironment(f, ENV)]));
          if (sync.mode === 'live' && !dropped) expect(stateOf(sync)).toEqual(final);
          // Whatever happened, a snapshot on request converges exactly.
          sync.requestSnapshot();
          sync.loadSnapshot(snapshotOf(history, history.length));
          expect(stateOf(sync)).toEqual(final);
        },
      ),
      { numRuns: 300 },
    );
  });
});
