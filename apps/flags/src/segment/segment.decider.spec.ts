import { evolveSegment, MEMBERS_PER_EVENT, type SegmentEvent, type SegmentState } from '#rollgate/contracts';
import { decideSegment, type SegmentCommand } from './segment.decider.js';
import { FlagError } from '../flag/flag.errors.js';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const ids = (n: number, prefix = 'user-') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const fold = (events: readonly SegmentEvent[], from: SegmentState = null): SegmentState =>
  events.reduce<SegmentState>((state, event, i) => evolveSegment(state, event, (from?.version ?? 0) + i + 1), from);

const decide = (command: SegmentCommand, state: SegmentState = null) => decideSegment(command, state, NOW);
const define = (segment: Record<string, unknown>): SegmentCommand => ({ type: 'DefineSegment', data: { segment: segment as never } });
const change = (key: string, add: string[], remove: string[] = []): SegmentCommand => ({ type: 'ChangeSegmentMembers', data: { key, add, remove } });

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return error instanceof FlagError ? error.code : String(error);
  }
  return undefined;
};

describe(decideSegment.name, () => {
  it('defines a member list of 100 000 ids as one SegmentDefined and chunks of at most MEMBERS_PER_EVENT', () => {
    const members = ids(100_000);
    const events = decide(define({ key: 'vip', conditions: [], memberAttribute: 'userId', members }));
    expect(events[0]).toEqual({ type: 'SegmentDefined', data: { segment: { key: 'vip', conditions: [], memberAttribute: 'userId' } } });
    const chunks = events.slice(1);
    expect(chunks).toHaveLength(100_000 / MEMBERS_PER_EVENT);
    expect(chunks.every((e) => e.type === 'SegmentMembersAdded' && e.data.members.length <= MEMBERS_PER_EVENT)).toBe(true);
    expect(Math.max(...events.map((e) => JSON.stringify(e).length))).toBeLessThan(20_000);
    expect(fold(events)?.members).toEqual(members);
  });

  it('redefines as deltas: the members given become the list; none given keeps it; an identical definition is a no-op', () => {
    const state = fold(decide(define({ key: 'vip', conditions: [], memberAttribute: 'userId', members: ['a', 'b', 'c'] })));
    expect(decide(define({ key: 'vip', conditions: [], memberAttribute: 'userId', members: ['b', 'c', 'd'] }), state)).toEqual([
      { type: 'SegmentMembersRemoved', data: { members: ['a'] } },
      { type: 'SegmentMembersAdded', data: { members: ['d'] } },
    ]);
    expect(decide(define({ key: 'vip', name: 'VIP', conditions: [], memberAttribute: 'userId' }), state)).toEqual([
      { type: 'SegmentDefined', data: { segment: { key: 'vip', name: 'VIP', conditions: [], memberAttribute: 'userId' } } },
    ]);
    expect(decide(define({ key: 'vip', conditions: [], memberAttribute: 'userId' }), state)).toEqual([]);
    expect(decide(define({ key: 'vip', conditions: [], memberAttribute: 'userId', members: ['c', 'b', 'a', 'a'] }), state)).toEqual([]);
  });

  it('changes members by deltas in chunks, removals first; a no-op appends nothing', () => {
    const state = fold(decide(define({ key: 'vip', conditions: [], memberAttribute: 'userId', members: ['a', 'b'] })));
    const events = decide(change('vip', [...ids(1_500), 'a'], ['a', 'b', 'zz']), state);
    expect(events.map((e) => `${e.type}:${(e.data as { members: string[] }).members.length}`)).toEqual([
      'SegmentMembersRemoved:2',
      'SegmentMembersAdded:1000',
      'SegmentMembersAdded:501',
    ]);
    expect(fold(events, state)?.members).toEqual([...ids(1_500), 'a']);
    expect(decide(change('vip', ['a'], ['zz']), state)).toEqual([]);
  });

  it('refuses members for an unknown segment, a segment that is no list, past 100 000, and bad ids', () => {
    const plain = fold(decide(define({ key: 'staff', conditions: [] })));
    const list = fold(decide(define({ key: 'vip', conditions: [], memberAttribute: 'userId', members: ids(99_999) })));
    expect(codeOf(() => decide(change('ghost', ['a'])))).toBe('FLAGS.SEGMENT_NOT_FOUND');
    expect(codeOf(() => decide(change('staff', ['a']), plain))).toBe('GENERIC.VALIDATION');
    expect(codeOf(() => decide(change('vip', ['x', 'y']), list))).toBe('GENERIC.VALIDATION');
    expect(decide(change('vip', ['x', 'y'], ['user-0']), list)).toHaveLength(2);
    expect(codeOf(() => decide(change('vip', ['']), list))).toBe('GENERIC.VALIDATION');
    expect(codeOf(() => decide(define({ key: 'vip', conditions: [], memberAttribute: 'userId', members: ids(100_001) })))).toBe('GENERIC.VALIDATION');
    expect(codeOf(() => decide(define({ key: 'staff', conditions: [], members: ['a'] })))).toBe('GENERIC.VALIDATION');
  });

  it('refuses a definition too large to travel whole with FLAGS.DEFINITION_TOO_LARGE', () => {
    const values = ids(30_000, 'a-rather-long-country-code-');
    expect(codeOf(() => decide(define({ key: 'big', conditions: [{ attribute: 'c', operator: 'in', values }] })))).toBe('FLAGS.DEFINITION_TOO_LARGE');
  });
});
