import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  MEMBERS_PER_EVENT,
  type AuditEntry,
  type FlagView,
  type Page,
  readPagedSnapshot,
  type FlagCommandResult,
  type FlagSnapshot,
  type FlagSnapshotPage,
  type Reply,
  type SegmentCommandResult,
  type SegmentMembersPage,
  type SegmentView,
} from '#rollgate/contracts';
import type { FlagDefinition } from '#rollgate/evaluation';
import type { EvaluationReply } from './evaluation/evaluation.service.js';
import { startFlagsTestApp, type FlagsTestApp } from './testing/flags-test-app.js';

const MAX_EVENT_BYTES = 64 * 1024;
const PAGE_BYTES = 16 * 1024;

/**
 * Issue 8 item 4 against the real service, Postgres and NATS: commands whose events would not fit are refused before
 * anything is appended; a member list of 100 000 ids is stored in small events and evaluates; snapshots of any size
 * come in pages below max_payload, and a reply that would not fit is an error instead of a timeout.
 */
describe('flags service size limits (real Postgres and NATS)', () => {
  let testApp: FlagsTestApp;
  let nc: NatsConnection;
  let pool: pg.Pool;

  const request = async <T>(subject: string, body: unknown): Promise<Reply<T>> =>
    (await nc.request(subject, JSON.stringify(body), { timeout: 20_000 })).json<Reply<T>>();
  const command = <T = FlagCommandResult>(verb: string, payload: unknown, commandId: string = randomUUID()) =>
    request<T>(`rg.cmd.flags.${verb}`, { commandId, actor: 'tester', payload });
  const query = <T>(noun: string, body: unknown) => request<T>(`rg.qry.flags.${noun}`, body);
  const ok = <T>(reply: Reply<T>): T => {
    if (!reply.ok) throw new Error(`expected ok, got ${JSON.stringify(reply.error)}`);
    return reply.result;
  };
  const errorOf = (reply: Reply<unknown>) => (reply.ok ? { code: 'OK', details: undefined } : reply.error);
  const logCounts = async () =>
    (await pool.query<{ events: string; commands: string }>('SELECT (SELECT count(*) FROM es.events)::text AS events, (SELECT count(*) FROM es.commands)::text AS commands')).rows[0];
  const ids = (n: number, prefix = 'user-') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const listFlag = (key: string, segment: string): Omit<FlagDefinition, 'version' | 'archived'> => ({
    key,
    name: key,
    type: 'user_list',
    environments: { production: { enabled: true, rules: [{ id: 'target-users', segments: [segment] }], defaultRollout: { type: 'none' } } },
  });

  beforeAll(async () => {
    testApp = await startFlagsTestApp({
      ROLLGATE_FLAGS_SEED: 'false',
      ROLLGATE_MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
      ROLLGATE_FLAGS_SNAPSHOT_PAGE_BYTES: String(PAGE_BYTES),
    });
    nc = testApp.nc;
    pool = new pg.Pool({ connectionString: testApp.db.appUrl, max: 2 });
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    await testApp?.close();
  });

  it('refuses a command whose event would not fit (FLAGS.EVENT_TOO_LARGE) or whose flag would outgrow the limit (FLAGS.DEFINITION_TOO_LARGE) before appending anything', async () => {
    const before = await logCounts();
    // 8 000 inline ids: a flag under 256 KiB, but an event over this service's 64 KiB.
    const inline = { key: 'inline_list', name: 'inline', type: 'user_list', environments: { production: { enabled: true, defaultRollout: { type: 'user_list', users: ids(8_000) } } } };
    const tooLarge = errorOf(await command('create', { flag: inline }));
    expect(tooLarge).toMatchObject({ code: 'FLAGS.EVENT_TOO_LARGE', details: { streamId: 'flag-inline_list', eventType: 'FlagCreated', maxEventBytes: MAX_EVENT_BYTES } });
    const huge = { ...inline, key: 'huge_rules', environments: { production: { enabled: true, defaultRollout: { type: 'all_users' }, rules: [{ id: 'r', conditions: [{ attribute: 'userId', operator: 'in', values: ids(30_000) }] }] } } };
    expect(errorOf(await command('create', { flag: huge }))).toMatchObject({ code: 'FLAGS.DEFINITION_TOO_LARGE', details: { key: 'huge_rules' } });
    expect(await logCounts()).toEqual(before);
    expect(errorOf(await query('get', { key: 'inline_list' })).code).toBe('FLAGS.NOT_FOUND');
  });

  it('stores a member list of 100 000 ids in events of at most 1 000 ids, and the service evaluates members and non-members', async () => {
    const members = ids(100_000);
    const segment = { key: 'big-list', conditions: [], memberAttribute: 'userId' };
    // Each command's ids fit one bus message: the definition with the first 30 000, then three additions.
    const defined = ok(await command<SegmentCommandResult>('define-segment', { segment: { ...segment, members: members.slice(0, 30_000) } }));
    expect(defined).toMatchObject({ appended: 1 + 30, segment: { ...segment, memberCount: 30_000 } });
    expect(defined.segment).not.toHaveProperty('members');
    for (let from = 30_000; from < members.length; from += 30_000) {
      ok(await command<SegmentCommandResult>('change-segment-members', { key: 'big-list', add: members.slice(from, from + 30_000), remove: [] }));
    }
    ok(await command('create', { flag: listFlag('big_list_flag', 'big-list') }));
    const evaluate = (userId: string) => query<EvaluationReply>('evaluate', { key: 'big_list_flag', environment: 'production', context: { userId } });
    expect(ok(await evaluate('user-99999'))).toMatchObject({ value: true, reason: 'TARGETING_MATCH', ruleId: 'target-users' });
    expect(ok(await evaluate('user-0'))).toMatchObject({ value: true });
    expect(ok(await evaluate('user-100000'))).toMatchObject({ value: false });

    const { rows } = await pool.query<{ n: string; biggest: number; type: string }>(
      `SELECT event_type AS type, count(*)::text AS n, max(octet_length(data::text) + octet_length(metadata::text)) AS biggest
         FROM es.events WHERE stream_id = 'segment-big-list' GROUP BY event_type ORDER BY event_type`,
    );
    expect(rows.map((r) => [r.type, Number(r.n)])).toEqual([['SegmentDefined', 1], ['SegmentMembersAdded', 100_000 / MEMBERS_PER_EVENT]]);
    expect(Math.max(...rows.map((r) => r.biggest))).toBeLessThan(MAX_EVENT_BYTES / 2);

    // Queries never carry the whole list: definitions with the count, members a page at a time.
    expect(ok(await query<SegmentView[]>('segments', { key: 'big-list' }))).toEqual([{ ...segment, version: 101, memberCount: 100_000 }]);
    const collected: string[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const page: SegmentMembersPage = ok(await query<SegmentMembersPage>('segment-members', { key: 'big-list', offset }));
      expect(page).toMatchObject({ version: 101, total: 100_000 });
      collected.push(...page.members);
      offset = page.next;
    }
    expect(collected).toEqual(members);
    // One past the list's cap is refused, appending nothing.
    const before = await logCounts();
    expect(errorOf(await command('change-segment-members', { key: 'big-list', add: ['one-more'], remove: [] })).code).toBe('GENERIC.VALIDATION');
    expect(await logCounts()).toEqual(before);
  }, 60_000);

  it('cuts history, audit and list pages at what one reply holds, and pages on from there', async () => {
    // ~52 KB per definition: an entry with its before and after is ~105 KB, so 31 of them are far over 1 MiB.
    const users = ids(2_500, 'history-user-');
    ok(await command('create', { flag: { key: 'long_history', name: 'h', type: 'user_list', environments: { production: { enabled: true, defaultRollout: { type: 'user_list', users } } } } }));
    for (let i = 0; i < 30; i++) ok(await command('toggle', { key: 'long_history', environment: 'production', enabled: i % 2 === 1 }));
    const versions: number[] = [];
    let pages = 0;
    for (let next: string | null = '1'; next !== null; pages++) {
      const page: Page<AuditEntry> = ok(await query<Page<AuditEntry>>('history', { key: 'long_history', fromVersion: Number(next), limit: 500 }));
      versions.push(...page.items.map((entry) => entry.version));
      next = page.next;
    }
    expect(versions).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(pages).toBeGreaterThan(2);
    // The audit trail (async, so waited for) pages the same way.
    const audited = async (): Promise<number[]> => {
      const seen: number[] = [];
      for (let after: string | null | undefined; after !== null; ) {
        const page: Page<AuditEntry> = ok(await query<Page<AuditEntry>>('audit', { key: 'long_history', limit: 500, ...(after === undefined ? {} : { after }) }));
        seen.push(...page.items.map((entry) => entry.version));
        after = page.next;
      }
      return seen;
    };
    for (let i = 0; (await audited()).length < 31 && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await audited()).toEqual(versions);
    const listed: string[] = [];
    for (let after: string | null | undefined; after !== null; ) {
      const page: Page<FlagView> = ok(await query<Page<FlagView>>('list', { paged: true, ...(after === undefined ? {} : { after }) }));
      listed.push(...page.items.map((view) => view.flag.key));
      after = page.next;
    }
    expect(listed).toEqual((ok(await query<FlagView[]>('list', {}))).map((view) => view.flag.key));
  }, 60_000);

  it('serves the snapshot in pages below the page size that join into exactly the whole snapshot; the whole one, too large for the bus, is a 413 error reply', async () => {
    const plain = (key: string) => ({ key, name: key, type: 'boolean', environments: { production: { enabled: true, defaultRollout: { type: 'all_users' } } } });
    for (let i = 0; i < 40; i++) ok(await command('create', { flag: plain(`plain_${String(i).padStart(2, '0')}`) }));
    ok(await command<SegmentCommandResult>('define-segment', { segment: { key: 'gone', conditions: [] } }));
    ok(await command<SegmentCommandResult>('remove-segment', { key: 'gone' }));

    const whole = await query<FlagSnapshot>('snapshot', { environment: 'production' });
    expect(errorOf(whole)).toMatchObject({ code: 'GENERIC.PAYLOAD_TOO_LARGE', details: { subject: 'rg.qry.flags.snapshot' } });

    const sizes: number[] = [];
    const read = await readPagedSnapshot(async (q) => {
      const reply = await query<FlagSnapshotPage>('snapshot', q);
      const page = ok(reply);
      // A page over the size holds one item only (long_history's 52 KB definition): every page moves on.
      if (page.flags.length + page.segments.length + page.members.length !== 1) sizes.push(JSON.stringify(reply).length);
      return page;
    }, 'production');
    expect(read.restarts).toBe(0);
    // 100 000 ids of ~12 bytes (1.3 MB) alone take 80 pages of 16 KiB.
    expect(read.pages).toBeGreaterThanOrEqual(80);
    expect(Math.max(...sizes)).toBeLessThan(PAGE_BYTES + 1_024);
    const { snapshot } = read;
    expect(snapshot.flags.map((f) => f.key)).toEqual(['big_list_flag', 'long_history', ...Array.from({ length: 40 }, (_, i) => `plain_${String(i).padStart(2, '0')}`)]);
    expect(snapshot.segments).toEqual([{ key: 'big-list', conditions: [], memberAttribute: 'userId', members: ids(100_000), version: 101 }]);
    expect(snapshot.removedSegments).toEqual([{ key: 'gone', version: 2 }]);
    // A bigger page size asked for is capped below the bus's limit, and the pages still join up.
    const large = await readPagedSnapshot(async (q) => ok(await query<FlagSnapshotPage>('snapshot', q)), 'production', { pageBytes: 32 * 1024 * 1024 });
    expect(large.pages).toBeGreaterThan(1);
    expect(large.snapshot).toEqual(snapshot);
  }, 60_000);
});
