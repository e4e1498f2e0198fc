import type { FlagDefinition } from '#rollgate/evaluation';
import {
  assembleSnapshot,
  decodeSnapshotCursor,
  encodeSnapshotCursor,
  readPagedSnapshot,
  SNAPSHOT_CURSOR_PATTERN,
  SnapshotPagesError,
  type FlagSnapshotPage,
  type SnapshotPageQuery,
} from './flag.snapshot.js';

const flag = (key: string, version = 1): FlagDefinition => ({ key, name: key, type: 'boolean', version, environments: {} });

const page = (over: Partial<FlagSnapshotPage>): FlagSnapshotPage => ({
  environment: 'production',
  position: '10',
  revision: '7',
  segments: [],
  members: [],
  removedSegments: [],
  flags: [],
  next: null,
  ...over,
});

describe(assembleSnapshot.name, () => {
  it('joins pages in order: a member list continued over later pages, removed segments, flags', () => {
    const snapshot = assembleSnapshot([
      page({ segments: [{ key: 'beta', conditions: [] }, { key: 'vip', conditions: [], memberAttribute: 'userId', members: ['a', 'b'] }], next: 's.vip.2' }),
      page({ members: [{ segment: 'vip', members: ['c', 'd'] }], next: 's.vip.4' }),
      page({ members: [{ segment: 'vip', members: ['e'] }], removedSegments: [{ key: 'old', version: 3 }], flags: [flag('a')], next: 'f.a' }),
      page({ flags: [flag('b'), flag('c')] }),
    ]);
    expect(snapshot).toEqual({
      environment: 'production',
      position: '10',
      segments: [{ key: 'beta', conditions: [] }, { key: 'vip', conditions: [], memberAttribute: 'userId', members: ['a', 'b', 'c', 'd', 'e'] }],
      removedSegments: [{ key: 'old', version: 3 }],
      flags: [flag('a'), flag('b'), flag('c')],
    });
  });

  it('refuses pages of two states, and members before their segment', () => {
    expect(() => assembleSnapshot([page({ next: 'f.' }), page({ revision: '8' })])).toThrow(expect.objectContaining({ moved: true }));
    expect(() => assembleSnapshot([page({ next: 'f.' }), page({ position: '11' })])).toThrow(SnapshotPagesError);
    expect(() => assembleSnapshot([page({ members: [{ segment: 'ghost', members: ['x'] }] })])).toThrow(expect.objectContaining({ moved: false }));
  });
});

describe(readPagedSnapshot.name, () => {
  /** A service whose state moves (revision + 1) after each of the first `moves` first pages it serves. */
  const service = (moves: number) => {
    const queries: SnapshotPageQuery[] = [];
    let revision = 0;
    const pages: Record<string, (r: number) => FlagSnapshotPage> = {
      first: (r) => page({ revision: String(r), flags: [flag('a', r + 1)], next: 'f.a' }),
      'f.a': (r) => page({ revision: String(r), flags: [flag('b')] }),
    };
    return {
      queries,
      request: async (query: SnapshotPageQuery) => {
        queries.push(query);
        const served = pages[query.cursor ?? 'first']!(revision);
        if (query.cursor === undefined && moves-- > 0) revision++;
        return served;
      },
    };
  };

  it('reads page after page with the cursor, and starts again from the first page when the state moved', async () => {
    const steady = service(0);
    expect(await readPagedSnapshot(steady.request, 'production', { pageBytes: 32_768 })).toMatchObject({ pages: 2, restarts: 0 });
    expect(steady.queries).toEqual([
      { environment: 'production', paged: true, pageBytes: 32_768 },
      { environment: 'production', paged: true, cursor: 'f.a', pageBytes: 32_768 },
    ]);
    const moving = service(2);
    const read = await readPagedSnapshot(moving.request, 'production');
    expect(read).toMatchObject({ pages: 2, restarts: 2 });
    expect(read.snapshot.flags.map((f) => `${f.key}@${f.version}`)).toEqual(['a@3', 'b@1']);
    await expect(readPagedSnapshot(service(10).request, 'production', { restarts: 3 })).rejects.toMatchObject({ name: 'SnapshotPagesError', moved: true });
  });
});

describe('snapshot cursors', () => {
  it('round-trip and match the query pattern', () => {
    for (const cursor of [{ section: 'segments', key: 'vip-list', offset: 4_000 }, { section: 'flags', after: 'checkout_v2' }, { section: 'flags', after: '' }] as const) {
      const text = encodeSnapshotCursor(cursor);
      expect(text).toMatch(SNAPSHOT_CURSOR_PATTERN);
      expect(decodeSnapshotCursor(text)).toEqual(cursor);
    }
    expect(decodeSnapshotCursor(undefined)).toEqual({ section: 'segments', key: '', offset: 0 });
    expect('s.Bad.1').not.toMatch(SNAPSHOT_CURSOR_PATTERN);
  });
});
