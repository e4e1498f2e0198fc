import type { FlagEvent, SegmentEvent } from './flag.events.js';
import { evolveFlag, evolveSegment, type FlagState, type SegmentState } from './flag.evolve.js';

const created: FlagEvent = {
  type: 'FlagCreated',
  data: {
    flag: {
      key: 'auto_submit_enabled',
      name: 'Auto submit',
      type: 'user_list',
      environments: {
        production: { enabled: true, defaultRollout: { type: 'user_list', users: ['u1', 'u2'] } },
      },
    },
  },
};

const fold = (events: FlagEvent[]): FlagState =>
  events.reduce<FlagState>((state, event, index) => evolveFlag(state, event, index + 1), null);

describe(evolveFlag.name, () => {
  it('creates an unarchived flag at version 1', () => {
    expect(fold([created])).toMatchObject({ key: 'auto_submit_enabled', archived: false, version: 1 });
  });

  it('ignores changes to a flag that does not exist', () => {
    expect(fold([{ type: 'FlagArchived', data: {} }])).toBeNull();
  });

  it('applies user list deltas: removals, then additions, without duplicates', () => {
    const state = fold([
      created,
      { type: 'UserListChanged', data: { environment: 'production', added: ['u3', 'u1'], removed: ['u2'] } },
    ]);
    expect(state?.environments['production']?.defaultRollout).toEqual({ type: 'user_list', users: ['u1', 'u3'] });
    expect(state?.version).toBe(2);
  });

  it('toggles one environment and creates it off by default when it did not exist', () => {
    const state = fold([created, { type: 'FlagToggled', data: { environment: 'staging', enabled: true } }]);
    expect(state?.environments['staging']).toEqual({ enabled: true, rules: [], defaultRollout: { type: 'all_users' } });
    expect(state?.environments['production']?.enabled).toBe(true);
  });

  it('changes a rule rollout by id and leaves the default rollout alone', () => {
    const state = fold([
      created,
      {
        type: 'RulesChanged',
        data: { environment: 'production', rules: [{ id: 'beta', conditions: [], rollout: { type: 'all_users' } }] },
      },
      {
        type: 'RolloutChanged',
        data: { environment: 'production', ruleId: 'beta', rollout: { type: 'percentage', ppm: 100_000 } },
      },
    ]);
    expect(state?.environments['production']?.rules?.[0]?.rollout).toEqual({ type: 'percentage', ppm: 100_000 });
    expect(state?.environments['production']?.defaultRollout.type).toBe('user_list');
  });

  it('reverts to a stored definition and keeps counting versions', () => {
    const original = fold([created])!;
    const state = fold([
      created,
      { type: 'FlagArchived', data: {} },
      { type: 'FlagReverted', data: { flag: original, toVersion: 1 } },
    ]);
    expect(state).toEqual({ ...original, version: 3 });
  });
});

describe(evolveSegment.name, () => {
  const foldSegment = (events: SegmentEvent[]): SegmentState =>
    events.reduce<SegmentState>((state, event, index) => evolveSegment(state, event, index + 1), null);
  const defined = (memberAttribute?: string): SegmentEvent => ({
    type: 'SegmentDefined',
    data: { segment: { key: 'vip', conditions: [], ...(memberAttribute === undefined ? {} : { memberAttribute }) } },
  });

  it('adds and removes members in chunks, without duplicates, and keeps them across a redefinition of the list', () => {
    expect(
      foldSegment([
        defined('userId'),
        { type: 'SegmentMembersAdded', data: { members: ['a', 'b'] } },
        { type: 'SegmentMembersAdded', data: { members: ['b', 'c'] } },
        { type: 'SegmentMembersRemoved', data: { members: ['a', 'z'] } },
        { type: 'SegmentDefined', data: { segment: { key: 'vip', name: 'VIP', conditions: [], memberAttribute: 'userId' } } },
      ]),
    ).toEqual({ key: 'vip', name: 'VIP', conditions: [], memberAttribute: 'userId', members: ['b', 'c'], version: 5 });
  });

  it('stays a pure function of its inputs: a version folded twice (a branch) gives each branch its own list', () => {
    const base = foldSegment([defined('userId'), { type: 'SegmentMembersAdded', data: { members: ['a', 'b'] } }])!;
    const snapshot = JSON.stringify(base);
    const left = evolveSegment(base, { type: 'SegmentMembersAdded', data: { members: ['c'] } }, 3)!;
    const right = evolveSegment(base, { type: 'SegmentMembersRemoved', data: { members: ['a'] } }, 3)!;
    const again = evolveSegment(left, { type: 'SegmentMembersAdded', data: { members: ['b', 'd'] } }, 4)!;
    expect([left.members, right.members, again.members]).toEqual([['a', 'b', 'c'], ['b'], ['a', 'b', 'c', 'd']]);
    expect(evolveSegment(base, { type: 'SegmentMembersAdded', data: { members: ['c', 'a'] } }, 3)!.members).toEqual(['a', 'b', 'c']);
    expect(JSON.stringify(base)).toBe(snapshot);
  });

  it('drops the members when the segment stops being a list, and ignores chunks before it exists or after removal', () => {
    expect(foldSegment([defined('userId'), { type: 'SegmentMembersAdded', data: { members: ['a'] } }, defined()])).toEqual({ key: 'vip', conditions: [], version: 3 });
    expect(foldSegment([{ type: 'SegmentMembersAdded', data: { members: ['a'] } }])).toBeNull();
    expect(foldSegment([defined('userId'), { type: 'SegmentRemoved', data: {} }, { type: 'SegmentMembersAdded', data: { members: ['a'] } }])).toBeNull();
  });
});
