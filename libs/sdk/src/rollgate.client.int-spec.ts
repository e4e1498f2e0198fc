import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LATENCY_BUCKETS_MS, type OutcomeBatch, type SdkStatusReport } from '#rollgate/contracts';
import { RollgateClient, type FlagChangeEvent, type RollgateClientOptions, type StatusEvent } from './rollgate.client.js';
import { sharedNats, startPrivateNats, type NatsAccess, type PrivateNats } from '#rollgate/testing';
import { FakeFlagsService, booleanFlag, toggle, waitFor } from './testing/fake-flags-service.js';

jest.setTimeout(60_000);
const ENV = 'production';
const SHARED_NATS = sharedNats();
const quiet = { warn: () => undefined };

/** Waits until a reconnecting connection round-trips again. */
async function flushed(nc: NatsConnection): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await nc.flush();
    } catch (error) {
      if (i > 200) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

// The fake service lives on private subjects, which only the admin user may use.
function clientOptions(service: FakeFlagsService, nats: NatsAccess, extra: Partial<RollgateClientOptions> = {}): RollgateClientOptions {
  return {
    environment: ENV,
    ...nats.client('admin'),
    subjectRoot: service.topology.root,
    streamName: service.topology.stream,
    statusIntervalMs: 0,
    outcomes: { enabled: false },
    readyTimeoutMs: 10_000,
    logger: quiet,
    ...extra,
  };
}

/** The client's state equals the service's snapshot (versions and this environment's config). */
function expectSameAsService(client: RollgateClient, service: FakeFlagsService): void {
  const truth = service.snapshot(ENV);
  const mine = client.snapshot();
  const view = (flags: typeof truth.flags) =>
    flags.map((f) => ({ key: f.key, version: f.version, config: f.environments[ENV] ?? null, archived: f.archived ?? false }))
      .sort((a, b) => a.key.localeCompare(b.key));
  expect(view(mine.flags)).toEqual(view(truth.flags));
}

describe(`${RollgateClient.name} against a real NATS JetStream`, () => {
  let nc: NatsConnection;
  let service: FakeFlagsService;
  const clients: RollgateClient[] = [];
  const open = async (options: RollgateClientOptions) => {
    const client = await RollgateClient.connect(options);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    nc = await connect(SHARED_NATS.options());
    service = await FakeFlagsService.start(nc);
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await service.stop();
    await nc.close();
  });

  it('loads the snapshot, applies live changes in order and reports each change with its cause', async () => {
    await service.append('flag-checkout', booleanFlag('checkout', ENV, false));
    await service.append('flag-search', booleanFlag('search', ENV, true));
    const client = await open(clientOptions(service, SHARED_NATS));
    expect(client.isEnabled('checkout', { userId: 'u1' })).toBe(false);
    expect(client.evaluate('search', { userId: 'u1' }, false)).toMatchObject({ value: true, reason: 'STATIC', flagVersion: 1 });
    expect(client.evaluate('nope', { userId: 'u1' }, 'fallback')).toMatchObject({ value: 'fallback', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });

    const all: FlagChangeEvent[] = [];
    const checkout: FlagChangeEvent[] = [];
    client.on('change', (e) => all.push(e));
    client.onFlagChange('checkout', (e) => checkout.push(e));
    const metadata = { actor: 'alice', reason: 'launch', commandId: 'cmd-1', correlationId: 'corr-1', causationId: 'canary-7' };
    const toggled = await service.append('flag-checkout', toggle(ENV, true), metadata);
    await service.append('flag-search', toggle(ENV, false));
    await service.append('flag-checkout', toggle('staging', true)); // another environment: version moves, no change event
    await waitFor('three events applied', () => client.getFlag('checkout')?.version === 3 && client.getFlag('search')?.version === 2);

    expect(client.isEnabled('checkout', { userId: 'u1' })).toBe(true);
    expect(client.isEnabled('search', { userId: 'u1' })).toBe(false);
    expect(checkout).toEqual([
      {
        key: 'checkout', oldVersion: 1, newVersion: 2, flag: client.getFlag('checkout') && expect.objectContaining({ key: 'checkout', version: 2 }),
        cause: { eventType: 'FlagToggled', ...metadata, eventId: toggled.eventId, recordedAt: toggled.recordedAt },
      },
    ]);
    expect(all.map((e) => `${e.key}@${e.newVersion}`)).toEqual(['checkout@2', 'search@2']);
    expect(client.evaluate('checkout', {}, false).flagVersion).toBe(3);
    expectSameAsService(client, service);
    expect(client.stats.gaps).toBe(0);
  });

  it('a hole in the feed triggers a fresh snapshot and the buffered events are applied after it', async () => {
    await service.append('flag-a', booleanFlag('a', ENV, false));
    const client = await open(clientOptions(service, SHARED_NATS));
    const statuses: StatusEvent[] = [];
    client.on('status', (s) => statuses.push(s));
    const servedBefore = service.snapshotsServed;
    await service.append('flag-a', toggle(ENV, true), {}, { publish: false }); // committed, never published
    await service.append('flag-a', toggle(ENV, false));
    await service.append('flag-a', toggle(ENV, true));
    await service.append('flag-b', booleanFlag('b', ENV, true));
    await waitFor('a at v4 and b known', () => client.getFlag('a')?.version === 4 && client.getFlag('b') !== undefined);
    expect(service.snapshotsServed).toBeGreaterThan(servedBefore);
    expect(client.stats.gaps).toBeGreaterThanOrEqual(1);
    expect(statuses).toContainEqual({ status: 'resnapshot', detail: 'gap' });
    expect(client.isEnabled('a', {})).toBe(true);
    expectSameAsService(client, service);
  });

  it('loads a snapshot in pages, applies a member list arriving in chunks, and falls back to one request for a service that cannot page', async () => {
    for (let i = 0; i < 7; i++) await service.append(`flag-f${i}`, booleanFlag(`f${i}`, ENV, true));
    await service.append('segment-vip', { type: 'SegmentDefined', data: { segment: { key: 'vip', conditions: [], memberAttribute: 'userId' } } });
    await service.append('segment-vip', { type: 'SegmentMembersAdded', data: { members: ['a', 'b'] } });
    await service.append('flag-listed', {
      type: 'FlagCreated',
      data: { flag: { key: 'listed', name: 'listed', type: 'user_list', environments: { [ENV]: { enabled: true, rules: [{ id: 'vip', segments: ['vip'] }], defaultRollout: { type: 'none' } } } } },
    });
    service.flagsPerPage = 3;
    const client = await open(clientOptions(service, SHARED_NATS));
    expect(client.stats.snapshotPages).toBe(3);
    expect(client.flagCount).toBe(8);
    expect([client.isEnabled('listed', { userId: 'a' }), client.isEnabled('listed', { userId: 'c' })]).toEqual([true, false]);
    // A burst of chunks: each applied in order, compiled once.
    for (const members of [['c'], ['d', 'e'], ['f']]) await service.append('segment-vip', { type: 'SegmentMembersAdded', data: { members } });
    await service.append('segment-vip', { type: 'SegmentMembersRemoved', data: { members: ['a'] } });
    await waitFor('the list changes applied', () => client.isEnabled('listed', { userId: 'f' }) && !client.isEnabled('listed', { userId: 'a' }));
    expect(client.snapshot().segments).toEqual([{ key: 'vip', conditions: [], memberAttribute: 'userId', members: ['b', 'c', 'd', 'e', 'f'], version: 6 }]);
    expectSameAsService(client, service);

    service.refusePaging = true;
    const old = await open(clientOptions(service, SHARED_NATS));
    expect(old.flagCount).toBe(8);
    expect(old.isEnabled('listed', { userId: 'e' })).toBe(true);
    expect(old.stats.snapshotPages).toBe(1);
  });

  it('publishes outcome batches that add up to the tracked workload, and its applied position', async () => {
    await service.append('flag-pay', booleanFlag('pay', ENV, true));
    const client = await open(clientOptions(service, SHARED_NATS, { outcomes: { enabled: true, windowMs: 60_000 } }));
    const batches: OutcomeBatch[] = [];
    const statusReports: SdkStatusReport[] = [];
    const root = service.topology.root;
    const obs = nc.subscribe(`${root}.obs.${ENV}.>`, { callback: (_e, m) => void batches.push(m.json<OutcomeBatch>()) });
    const st = nc.subscribe(`${root}.sdk.${ENV}.status`, { callback: (_e, m) => void statusReports.push(m.json<SdkStatusReport>()) });
    await nc.flush();

    // Workload: 200 requests by 40 users; every 10th fails; users u0..u3 are the ones failing (20 errors, 4 users).
    let expectedErrors = 0;
    const errorUsers = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const userId = `u${i % 40}`;
      const fail = i % 10 === 0;
      if (fail) {
        expectedErrors++;
        errorUsers.add(userId);
      }
      client.track('pay', { userId }, { outcome: fail ? 'error' : 'success', latencyMs: fail ? 700 : 20 });
    }
    for (let i = 0; i < 50; i++) client.isEnabled('pay', { userId: `u${i}` });
    expect(client.flushOutcomes()).toBe(1);
    client.publishStatus();
    await nc.flush();
    await waitFor('one batch and one status', () => batches.length === 1 && statusReports.length === 1);
    const [cohort] = batches[0]!.cohorts;
    expect(batches[0]).toMatchObject({ schema: 1, clientId: client.clientId, environment: ENV, flagKey: 'pay', droppedWindows: 0 });
    expect(cohort).toMatchObject({ variant: 'on', requests: 200, errors: expectedErrors, errorUnits: errorUsers.size, exposures: 50 });
    const buckets = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    buckets[LATENCY_BUCKETS_MS.indexOf(25)] = 180;
    buckets[LATENCY_BUCKETS_MS.indexOf(1_000)] = 20;
    expect(cohort!.latencyBuckets).toEqual(buckets);
    expect(statusReports[0]).toMatchObject({ clientId: client.clientId, environment: ENV, appliedPosition: '1', state: 'connected' });
    obs.unsubscribe();
    st.unsubscribe();
  });

  it('exposures counted before a live change or a removal mid-window are reported in that window', async () => {
    await service.append('flag-kept', booleanFlag('kept', ENV, false));
    await service.append('flag-dropped', booleanFlag('dropped', ENV, true));
    const batches: OutcomeBatch[] = [];
    const client = await open(clientOptions(service, SHARED_NATS, { outcomeSink: (b) => batches.push(b) }));
    for (let i = 0; i < 3; i++) client.isEnabled('kept', { userId: `u${i}` });
    for (let i = 0; i < 5; i++) client.isEnabled('dropped', { userId: `u${i}` });
    await service.append('flag-kept', toggle(ENV, true));
    // A rule on a segment nobody defined: the SDK leaves the invalid definition out, so the flag is gone from it.
    await service.append('flag-dropped', { type: 'RulesChanged', data: { environment: ENV, rules: [{ id: 'r', segments: ['ghost'] }] } });
    await waitFor('both events applied', () => client.getFlag('kept')?.version === 2 && client.stats.rejectedFlags === 1);
    expect(client.isEnabled('kept', {})).toBe(true);
    expect(client.isEnabled('dropped', {})).toBe(false);
    expect(client.evaluate('dropped', {}, false)).toMatchObject({ errorCode: 'FLAG_NOT_FOUND' });
    expect(client.flushOutcomes()).toBe(2);
    const counts = Object.fromEntries(batches.map((b) => [b.flagKey, Object.fromEntries(b.cohorts.map((c) => [c.variant, c.exposures]))]));
    expect(counts).toEqual({ kept: { off: 3, on: 1 }, dropped: { on: 5 } });
  });

  it('refuses to start without servers or an environment', () => {
    expect(() => RollgateClient.create({ environment: ENV })).toThrow(/servers or connection/);
    expect(() => RollgateClient.create({ environment: '', servers: SHARED_NATS.url })).toThrow(/environment/);
  });
});

describe(`${RollgateClient.name} with NATS going away`, () => {
  let server: PrivateNats;
  let admin: NatsConnection;
  let service: FakeFlagsService;
  let dir: string;
  const clients: RollgateClient[] = [];

  beforeEach(async () => {
    server = await startPrivateNats();
    admin = await connect({ ...server.options(), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    service = await FakeFlagsService.start(admin);
    dir = mkdtempSync(join(tmpdir(), 'rg-sdk-'));
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await admin.close();
    await server.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps serving while NATS is down, turns STALE after staleAfterMs, and catches up after a restart without a gap', async () => {
    await service.append('flag-x', booleanFlag('x', ENV, true));
    const client = await RollgateClient.connect(clientOptions(service, server, { staleAfterMs: 300 }));
    clients.push(client);
    const statuses: string[] = [];
    client.on('status', (s) => statuses.push(s.status));
    await service.append('flag-x', toggle(ENV, false));
    await waitFor('x v2', () => client.getFlag('x')?.version === 2);

    await server.stop(true);
    await waitFor('disconnected', () => !client.isConnected);
    // Serving the last known flags, never throwing.
    expect(client.evaluate('x', { userId: 'u' }, true)).toMatchObject({ value: false });
    await waitFor('stale', () => client.isStale);
    expect(client.evaluate('x', { userId: 'u' }, true)).toMatchObject({ value: false, reason: 'STALE', flagVersion: 2 });
    expect(client.isEnabled('x', {})).toBe(false);

    await server.start();
    await flushed(admin);
    // Changes after the restart, one of them never published (the next event of its stream reveals the hole):
    // the client must still end equal to the service.
    await service.append('flag-x', toggle(ENV, true));
    await service.append('flag-y', booleanFlag('y', ENV, true), {}, { publish: false });
    await service.append('flag-x', toggle(ENV, false));
    await service.append('flag-y', toggle(ENV, false));
    await service.append('flag-x', toggle(ENV, true));
    await waitFor('caught up', () => client.getFlag('x')?.version === 5 && client.getFlag('y')?.version === 2 && !client.isStale);
    expect(client.evaluate('x', {}, false)).toMatchObject({ value: true, reason: 'STATIC', flagVersion: 5 });
    expectSameAsService(client, service);
    expect(statuses).toEqual(expect.arrayContaining(['disconnected', 'stale', 'connected', 'resnapshot']));
  });

  it('cold start from the snapshot file while NATS is unreachable: serves STALE, then catches up when NATS returns', async () => {
    const file = join(dir, 'flags.json');
    await service.append('flag-f', booleanFlag('f', ENV, true));
    const first = await RollgateClient.connect(clientOptions(service, server, { snapshotFile: file, snapshotFileDebounceMs: 10 }));
    await first.close(); // writes the file
    await server.stop(true);

    const cold = await RollgateClient.connect(clientOptions(service, server, { snapshotFile: file, staleAfterMs: 60_000 }));
    clients.push(cold);
    expect(cold.isConnected).toBe(false);
    expect(cold.evaluate('f', {}, false)).toMatchObject({ value: true, reason: 'STALE', flagVersion: 1 });
    expect(cold.evaluate('missing', {}, false)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });

    await server.start();
    await flushed(admin);
    await service.append('flag-f', toggle(ENV, false));
    await waitFor('cold client caught up', () => cold.isConnected && !cold.isStale && cold.getFlag('f')?.version === 2, 20_000);
    expect(cold.evaluate('f', {}, true)).toMatchObject({ value: false, reason: 'DISABLED', flagVersion: 2 });
    expectSameAsService(cold, service);
  });

  it('without NATS and without a snapshot file, connect gives up with SDK.NOT_READY', async () => {
    await server.stop(true);
    await expect(RollgateClient.connect(clientOptions(service, server, { readyTimeoutMs: 300 }))).rejects.toMatchObject({ code: 'SDK.NOT_READY' });
  });
});
