import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { eventStreamName } from '#rollgate/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Registry } from 'prom-client';
import type { Reply, SdkStatusReport } from '#rollgate/contracts';
import { RollgateClient } from '#rollgate/sdk';
import { waitFor, type PrivateNats } from '#rollgate/testing';
import { PropagationMonitor } from './propagation-monitor.js';
import { startFlagsTestApp, type FlagsTestApp } from '../testing/flags-test-app.js';

const STATUS_INTERVAL_MS = 100;

describe(PropagationMonitor.name, () => {
  let testApp: FlagsTestApp;
  let nats: PrivateNats;
  let app: NestFastifyApplication;
  let nc: NatsConnection;
  // The test app's NATS is private: the service's own stream, which the flags user may create.
  const streamName = eventStreamName('flags');

  const command = async (verb: string, payload: unknown): Promise<void> => {
    const reply = (await nc.request(`rg.cmd.flags.${verb}`, JSON.stringify({ commandId: randomUUID(), actor: 'tester', payload }), { timeout: 10_000 })).json<Reply<unknown>>();
    if (!reply.ok) throw new Error(JSON.stringify(reply.error));
  };
  const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
    const values = (await app.get(Registry).getSingleMetric(name)!.get()).values;
    const matching = values.filter((v) => Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value));
    return matching.reduce((sum, v) => sum + v.value, 0);
  };
  const lagCount = (environment: string) => metric('rollgate_flags_propagation_lag_seconds', { environment, le: '+Inf' });
  const lagBucket = (environment: string, le: string) => metric('rollgate_flags_propagation_lag_seconds', { environment, le });
  const connected = (environment: string) => metric('rollgate_flags_sdk_clients_connected', { environment });
  const report = (overrides: Partial<SdkStatusReport>): SdkStatusReport => ({
    clientId: 'c1',
    environment: 'lag-env',
    appliedPosition: '10',
    appliedEventId: 'e1',
    lastEventRecordedAt: '2026-01-01T00:00:00.000Z',
    appliedAt: '2026-01-01T00:00:00.200Z',
    state: 'connected',
    ...overrides,
  });

  beforeAll(async () => {
    testApp = await startFlagsTestApp({
      ROLLGATE_FLAGS_SEED: 'false',
      ROLLGATE_FLAGS_SDK_STATUS_INTERVAL_MS: String(STATUS_INTERVAL_MS),
    });
    ({ app, nats, nc } = testApp);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('observes appliedAt - lastEventRecordedAt once per newly applied event, from the second report of a client on', async () => {
    const publish = (r: SdkStatusReport) => nc.publish('rg.sdk.lag-env.status', JSON.stringify(r));
    const accepted = () => metric('rollgate_flags_sdk_status_reports_total', { result: 'accepted' });
    const start = await accepted();
    publish(report({})); // baseline: not observed
    publish(report({})); // same event again: not observed
    publish(report({ appliedEventId: 'e2', appliedAt: '2026-01-01T00:00:00.300Z' })); // 0.3 s
    publish(report({ appliedEventId: 'e3', lastEventRecordedAt: '2026-01-01T00:00:01.000Z', appliedAt: '2026-01-01T00:00:01.004Z' })); // 4 ms
    publish(report({ clientId: 'c2', appliedEventId: 'e3' })); // another client's first report
    await waitFor('five reports', async () => (await accepted()) === start + 5);
    expect(await lagCount('lag-env')).toBe(2);
    expect(await lagBucket('lag-env', '0.005')).toBe(1);
    expect(await lagBucket('lag-env', '0.25')).toBe(1);
    expect(await lagBucket('lag-env', '0.5')).toBe(2);
  });

  it('counts malformed reports and reports for another environment than the subject as invalid', async () => {
    const invalid = () => metric('rollgate_flags_sdk_status_reports_total', { result: 'invalid' });
    // Its own environment and client, apart from the lag test's lag-env reports.
    const mine = (overrides: Partial<SdkStatusReport>) => JSON.stringify(report({ clientId: 'invalid-c', environment: 'invalid-env', ...overrides }));
    const start = await invalid();
    nc.publish('rg.sdk.invalid-env.status', 'not json');
    nc.publish('rg.sdk.invalid-env.status', mine({ environment: 'other' }));
    nc.publish('rg.sdk.invalid-env.status', mine({ appliedAt: 'yesterday' }));
    nc.publish('rg.sdk.invalid-env.status', mine({ state: 'asleep' as 'connected' }));
    await waitFor('four invalid reports', async () => (await invalid()) === start + 4);
  });

  it('measures real SDK clients applying flag changes, and counts them as connected until they go quiet', async () => {
    await command('create', { flag: { key: 'p-flag', name: 'p-flag', type: 'boolean', environments: { staging: { enabled: true, rules: [], defaultRollout: { type: 'all_users' } } } } });
    const clients = await Promise.all(
      Array.from({ length: 3 }, () =>
        RollgateClient.connect({ environment: 'staging', ...nats.client(), streamName, statusIntervalMs: STATUS_INTERVAL_MS, logger: { warn: () => undefined } }),
      ),
    );
    try {
      // Connected = each client's baseline report is in before the change, so each client's apply is observed.
      await waitFor('three connected clients', async () => (await connected('staging')) === 3);
      await command('toggle', { key: 'p-flag', environment: 'staging', enabled: false });
      await waitFor('every client applied the toggle', async () => clients.every((c) => c.isEnabled('p-flag', { userId: 'u' }) === false));
      await waitFor('a lag observed per client', async () => (await lagCount('staging')) === 3);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
    await waitFor('clients forgotten after 3 silent intervals', async () => (await connected('staging')) === 0);
  });
});
