import { InMemoryEventStore } from '#rollgate/event-store';
import type { Pool } from 'pg';
import { FlagStateQuery } from './flag-state.query.js';

const created = (key: string, users: number) => ({
  type: 'FlagCreated',
  data: {
    flag: {
      key,
      name: key,
      type: 'user_list',
      environments: { qa: { enabled: true, defaultRollout: { type: 'user_list', users: Array.from({ length: users }, (_, i) => `user-${i}`) } } },
    },
  },
});

describe(`${FlagStateQuery.name}.asOf`, () => {
  it('pages by reply size in the order of the keys, naming the first key left out, and always answers at least one', async () => {
    const store = new InMemoryEventStore();
    for (const key of ['a', 'b', 'c']) await store.append(`flag-${key}`, [created(key, 100)], { expectedVersion: 'no_stream' });
    const query = new FlagStateQuery(null as unknown as Pool, store);
    const asOf = new Date(Date.now() + 1_000).toISOString();
    const oneFlagBytes = JSON.stringify({ key: 'a', flag: (await query.asOf({ asOf, keys: ['a'] })).items[0]!.flag }).length;

    const first = await query.asOf({ asOf, keys: ['c', 'a', 'b'] }, 200 + 2 * oneFlagBytes + 10);
    expect(first.items.map((item) => item.key)).toEqual(['c', 'a']);
    expect(first.next).toBe('b');
    const tiny = await query.asOf({ asOf, keys: ['b', 'c'] }, 1);
    expect([tiny.items.map((item) => item.key), tiny.next]).toEqual([['b'], 'c']);
    const rest = await query.asOf({ asOf, keys: ['b'] }, 200 + oneFlagBytes + 10);
    expect([rest.items.map((item) => item.key), rest.next]).toEqual([['b'], null]);
  });
});
