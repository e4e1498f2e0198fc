import type { FlagDefinition, Segment } from '#rollgate/evaluation';
import type { FlagSnapshot } from './flag.queries.js';

/**
 * A snapshot of any size over the bus: `rg.qry.flags.snapshot` with `paged: true` answers one page of at most
 * `pageBytes` (and always below the bus's payload limit), and each page's `next` asks for the one after it.
 * Segments come first (a member list's members may continue over several pages in `members`), then flags by key.
 *
 * Each page is read on its own and carries the position and revision it was read at; the pages of one snapshot
 * must all carry the same. A page of another revision means something changed while paging: the reader starts
 * again from the first page (`readPagedSnapshot`), so an assembled snapshot always describes one state.
 */
export interface FlagSnapshotPage {
  environment: string;
  /** As FlagSnapshot.position, read with this page. */
  position: string;
  /** Changes with every event appended to any flag or segment: equal revisions, same state. */
  revision: string;
  /** Segment definitions, in key order; a member list brings the first of its members, `members` the rest. */
  segments: Segment[];
  /** More members of a member list sent on an earlier or this page, in order. */
  members: SnapshotMembers[];
  removedSegments: RemovedSegment[];
  flags: FlagDefinition[];
  /** Pass as `cursor` for the next page; null on the last. */
  next: string | null;
}

export interface SnapshotMembers {
  segment: string;
  members: string[];
}

/** A removed segment's last stream version: its older events are history, not news. */
export interface RemovedSegment {
  key: string;
  version: number;
}

/** `s.<segment key>.<member offset>` (segments from that key on) or `f.<flag key>` (flags after that key; `f.` = from the first). */
export const SNAPSHOT_CURSOR_PATTERN = /^(s\.[a-z0-9][a-z0-9_-]{0,99}\.[0-9]{1,6}|f\.([a-z0-9][a-z0-9_-]{0,99})?)$/;

export const MIN_SNAPSHOT_PAGE_BYTES = 16 * 1024;
export const MAX_SNAPSHOT_PAGE_BYTES = 64 * 1024 * 1024;

export type SnapshotCursor = { section: 'segments'; key: string; offset: number } | { section: 'flags'; after: string };

export const encodeSnapshotCursor = (cursor: SnapshotCursor): string =>
  cursor.section === 'segments' ? `s.${cursor.key}.${cursor.offset}` : `f.${cursor.after}`;

/** The cursor of a string matching SNAPSHOT_CURSOR_PATTERN; undefined is the first page. */
export const decodeSnapshotCursor = (cursor: string | undefined): SnapshotCursor => {
  if (cursor === undefined) return { section: 'segments', key: '', offset: 0 };
  if (cursor.startsWith('f.')) return { section: 'flags', after: cursor.slice(2) };
  const [, key, offset] = cursor.split('.');
  return { section: 'segments', key: key!, offset: Number(offset) };
};

/** The pages of one snapshot did not share one position (or environment), or did not join up. */
export class SnapshotPagesError extends Error {
  constructor(
    message: string,
    /** True when the environment changed while paging: reading again from the first page will do. */
    readonly moved: boolean,
  ) {
    super(message);
    this.name = 'SnapshotPagesError';
  }
}

const samePoint = (a: FlagSnapshotPage, b: FlagSnapshotPage): boolean => a.position === b.position && a.revision === b.revision;

/** Joins the pages of one snapshot, in order, into the FlagSnapshot they stand for. */
export function assembleSnapshot(pages: readonly FlagSnapshotPage[]): FlagSnapshot {
  const first = pages[0];
  if (first === undefined) throw new SnapshotPagesError('no snapshot pages', false);
  const segments = new Map<string, Segment>();
  const flags: FlagDefinition[] = [];
  const removedSegments: RemovedSegment[] = [];
  for (const page of pages) {
    if (page.environment !== first.environment) throw new SnapshotPagesError(`snapshot page for ${page.environment}, not ${first.environment}`, false);
    if (!samePoint(page, first)) {
      throw new SnapshotPagesError(`snapshot moved from ${first.position}/${first.revision} to ${page.position}/${page.revision} while paging`, true);
    }
    for (const segment of page.segments) segments.set(segment.key, segment.members === undefined ? segment : { ...segment, members: [...segment.members] });
    for (const more of page.members) {
      const segment = segments.get(more.segment);
      if (segment === undefined) throw new SnapshotPagesError(`members of ${more.segment} before its definition`, false);
      (segment.members ??= []).push(...more.members);
    }
    removedSegments.push(...page.removedSegments);
    flags.push(...page.flags);
  }
  return { environment: first.environment, position: first.position, flags, segments: [...segments.values()], removedSegments };
}

export interface SnapshotPageQuery {
  environment: string;
  paged: true;
  cursor?: string;
  pageBytes?: number;
}

export interface PagedSnapshotOptions {
  pageBytes?: number;
  /** Reads from the first page again at most this many times when the environment moves meanwhile (default 5). */
  restarts?: number;
  /** A snapshot of more pages than this is refused (default 100 000). */
  maxPages?: number;
}

export interface PagedSnapshot {
  snapshot: FlagSnapshot;
  /** Pages of the read that was kept. */
  pages: number;
  /** Reads started again because the environment moved. */
  restarts: number;
}

/**
 * Reads every page of an environment's snapshot with `requestPage` (one bus request each) and joins them. When a
 * page's position or revision differs from the first page's, the environment changed meanwhile: it starts again from the first
 * page, at most `restarts` times, then throws SnapshotPagesError (moved) for the caller's own retry policy.
 */
export async function readPagedSnapshot(
  requestPage: (query: SnapshotPageQuery) => Promise<FlagSnapshotPage>,
  environment: string,
  options: PagedSnapshotOptions = {},
): Promise<PagedSnapshot> {
  const restarts = options.restarts ?? 5;
  const maxPages = options.maxPages ?? 100_000;
  for (let attempt = 0; ; attempt++) {
    const pages: FlagSnapshotPage[] = [];
    let cursor: string | undefined;
    let moved = false;
    do {
      if (pages.length >= maxPages) throw new SnapshotPagesError(`snapshot of more than ${maxPages} pages`, false);
      const query: SnapshotPageQuery = { environment, paged: true };
      if (cursor !== undefined) query.cursor = cursor;
      if (options.pageBytes !== undefined) query.pageBytes = options.pageBytes;
      const page = await requestPage(query);
      if (pages.length > 0 && !samePoint(page, pages[0]!)) {
        moved = true;
        break;
      }
      pages.push(page);
      cursor = page.next ?? undefined;
    } while (cursor !== undefined);
    if (!moved) return { snapshot: assembleSnapshot(pages), pages: pages.length, restarts: attempt };
    if (attempt >= restarts) throw new SnapshotPagesError(`the ${environment} snapshot kept moving while paging (${attempt + 1} reads)`, true);
  }
}
