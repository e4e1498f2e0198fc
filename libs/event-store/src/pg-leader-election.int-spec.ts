import { randomUUID } from 'node:crypto';
import { connect as connectTcp, createServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { adminDatabaseUrl, createTestDatabase, type TestDatabase } from '#rollgate/testing';
import { PgLeaderElection } from './pg-leader-election.js';

/**
 * The publisher's lease against the real PostgreSQL: one holder at a time, and a holder whose session the server
 * ended (a failover, an operator's pg_terminate_backend) learns it: `verify()` says false and `lost` resolves,
 * and by the heartbeat alone when its connection merely goes silent, so another replica can lead.
 */
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

async function terminateHolder(name: string): Promise<number> {
  const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`leader:${name}`]);
    return rowCount ?? 0;
  } finally {
    await admin.end();
  }
}

const settled = (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

it('grants one lease at a time, verifies it while held, and hands it over on release', async () => {
  const name = `lease-${randomUUID()}`;
  const a = new PgLeaderElection(database.appUrl);
  const b = new PgLeaderElection(database.appUrl);
  const first = await a.tryAcquire(name);
  expect(first).not.toBeNull();
  expect(await b.tryAcquire(name)).toBeNull();
  expect(await first!.verify()).toBe(true);
  await first!.release();
  const second = await b.tryAcquire(name);
  expect(second).not.toBeNull();
  await second!.release();
});

it('tells a holder whose session the server ended that it lost the lease, and lets another take it', async () => {
  const name = `lease-${randomUUID()}`;
  const lease = (await new PgLeaderElection(database.appUrl).tryAcquire(name))!;
  expect(await terminateHolder(name)).toBe(1);
  expect(await lease.verify()).toBe(false);
  expect(await settled(lease.lost, 5_000)).toBe(true);
  const next = await new PgLeaderElection(database.appUrl).tryAcquire(name);
  expect(next).not.toBeNull();
  await next!.release();
  await lease.release();
});

/**
 * A TCP relay to PostgreSQL that can go silent: both directions stop, nothing is closed, as with a dead network
 * path or a failed-over primary whose socket never sends a reset.
 */
async function silentableRelay(target: URL): Promise<{ port: number; silence(): void; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connectTcp(Number(target.port || 5432), target.hostname);
    sockets.push(client, upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    silence: () => {
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

it('notices by its heartbeat a lock connection that went silent without an error, and another replica leads', async () => {
  const name = `lease-${randomUUID()}`;
  const direct = new URL(database.appUrl);
  const relay = await silentableRelay(direct);
  try {
    const viaRelay = new URL(database.appUrl);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(relay.port);
    const lease = (await new PgLeaderElection(viaRelay.toString(), { heartbeatMs: 300 }).tryAcquire(name))!;
    expect(lease).not.toBeNull();
    expect(await settled(lease.lost, 1_000)).toBe(false);
    relay.silence();
    // The server still holds the session (and the lock) until TCP gives up; the holder must stop acting now.
    expect(await settled(lease.lost, 5_000)).toBe(true);
    expect(await lease.verify()).toBe(false);
    expect(await terminateHolder(name)).toBe(1);
    const next = await new PgLeaderElection(database.appUrl).tryAcquire(name);
    expect(next).not.toBeNull();
    await next!.release();
    await lease.release();
  } finally {
    await relay.close();
  }
});
