import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsCluster, type NatsCluster } from '#rollgate/testing';
import { ensureEventStream, eventStreamTarget } from './event-stream.js';

/**
 * ROLLGATE_STREAM_REPLICAS on a three-node cluster: a new stream gets the replicas asked for, and an existing
 * one-replica stream (a deployment that grew from one NATS node to three) is moved to three by the same call.
 */
let cluster: NatsCluster;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  nc = await connect({ ...cluster.options('admin'), servers: cluster.url.split(',') });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.destroy();
});

it('creates a stream with three replicas, and moves an existing one-replica stream to three', async () => {
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  const fresh = await ensureEventStream(jsm, eventStreamTarget('canary'), { replicas: 3 });
  expect(fresh.config.num_replicas).toBe(3);

  const grown = eventStreamTarget('flags');
  expect((await ensureEventStream(jsm, grown, { replicas: 1 })).config.num_replicas).toBe(1);
  const updated = await ensureEventStream(jsm, grown, { replicas: 3 });
  expect(updated.config.num_replicas).toBe(3);
  expect(updated.config.deny_delete).toBe(true);
  // A leader and two followers once the new peers have caught up.
  const peers = async (): Promise<number> => {
    const info = await jsm.streams.info(grown.stream);
    return info.cluster?.leader ? 1 + (info.cluster.replicas?.length ?? 0) : 0;
  };
  const deadline = Date.now() + 20_000;
  while ((await peers()) < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
  expect(await peers()).toBe(3);
}, 60_000);
