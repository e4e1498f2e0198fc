import { isDeepStrictEqual } from 'node:util';
import { jest } from '@jest/globals';
import type { OutcomesResult } from '#rollgate/contracts';
import { waitFor } from '#rollgate/testing';
import { BusClient, RollgateSystem, evaluateAll, mapLimit, uniqueKey, userIds } from './harness/index.js';
import { ENVIRONMENT, observedClient, type ObservedClient } from './harness/sdk.js';

// The e2e project's testTimeout in jest.config.js is not applied (Jest 30 reads it only globally).
jest.setTimeout(120_000);

/**
 * Issue 4's outcome acceptance, black box: SDK clients connected to the running system run a known workload of
 * withFeature() / track() / isEnabled() on a 50 % flag, flush, and the flags service's aggregate (rg.qry.flags.outcomes,
 * and GET /api/v1/feature-flags/{key}/outcomes) equals the workload per variant: exposures, requests, errors,
 * distinct error users, and one latency per request. Each user is served by one client and errs at most once, so
 * the distinct-user counts add up exactly across clients and windows.
 */
let system: RollgateSystem;
let bus: BusClient;
const clients: ObservedClient[] = [];
const CLIENTS = 3;
const USERS = 240;
const EXTRA_EXPOSURES = 2;

beforeAll(async () => {
  system = await RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
  bus = await BusClient.connect(system.nats);
}, 120_000);

afterAll(async () => {
  await mapLimit(clients, 10, (o) => o.client.close());
  await bus?.close();
  await system?.stop();
});

/** Outcome batches the flags service has finished with, whatever the result, from its /metrics. */
async function batchesSettled(): Promise<number> {
  const text = await (await fetch(`${system.httpUrl('flags')}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('rollgate_flags_outcome_batches_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

interface Counts {
  exposures: number;
  requests: number;
  errors: number;
  errorUnits: number;
  latencies: number;
}

it('the counts the clients publish equal the counts the flags service aggregates, per variant', async () => {
  const since = new Date(Date.now() - 60_000).toISOString();
  const key = uniqueKey('outcomes');
  const created = await system.api('POST', '/api/v1/feature-flags', { name: key, rollout_percentage: 50, target_environments: [ENVIRONMENT] });
  expect(created.status).toBe(201);
  for (let i = 0; i < CLIENTS; i++) {
    // One long window: only flushOutcomes() publishes.
    clients.push(await observedClient(system, `sdk-out-${i}`, [key], { outcomes: { enabled: true, windowMs: 600_000 } }));
  }

  // The service's own evaluation decides who is on: the expected counts do not come from the SDK under test.
  const users = userIds(USERS, 'out');
  const served = (await evaluateAll(system, key, users)).map((e) => (e.enabled ? 'on' : 'off'));
  expect(new Set(served)).toEqual(new Set(['on', 'off']));

  const expected: Record<string, Counts> = {
    on: { exposures: 0, requests: 0, errors: 0, errorUnits: 0, latencies: 0 },
    off: { exposures: 0, requests: 0, errors: 0, errorUnits: 0, latencies: 0 },
  };
  for (const [i, user] of users.entries()) {
    const client = clients[i % CLIENTS]!.client;
    const variant = served[i]!;
    const context = { userId: user };
    const e = expected[variant]!;
    // withFeature: one exposure, one request with its latency; every 7th user's branch throws (an error).
    const fails = i % 7 === 0;
    const branch = (): string => {
      if (fails) throw new Error('boom');
      return variant;
    };
    let threw = false;
    try {
      expect(client.withFeature(key, context, branch, branch)).toBe(variant);
    } catch (error) {
      threw = (error as Error).message === 'boom';
    }
    expect(threw).toBe(fails);
    e.exposures++;
    e.requests++;
    e.latencies++;
    if (fails) {
      e.errors++;
      e.errorUnits++;
    }
    // isEnabled: exposures only.
    for (let k = 0; k < EXTRA_EXPOSURES; k++) expect(client.isEnabled(key, context)).toBe(variant === 'on');
    e.exposures += EXTRA_EXPOSURES;
    // track: every 5th user one more successful request with a known latency; every 11th a second error (same user,
    // so no new error unit unless it is the user's first error).
    if (i % 5 === 0) {
      client.track(key, context, { outcome: 'success', latencyMs: 30 });
      e.requests++;
      e.latencies++;
    }
    if (i % 11 === 0) {
      client.track(key, context, { outcome: 'error', latencyMs: 700 });
      e.requests++;
      e.errors++;
      e.latencies++;
      if (!fails) e.errorUnits++;
    }
  }
  const published = clients.map((o) => o.client.flushOutcomes());
  expect(published).toEqual(clients.map(() => 1));

  const totals = (result: OutcomesResult): Record<string, Counts> =>
    Object.fromEntries(
      result.totals
        .filter((t) => t.environment === ENVIRONMENT)
        .map((t) => [t.variant, { exposures: t.exposures, requests: t.requests, errors: t.errors, errorUnits: t.errorUnits, latencies: t.latencyBuckets.reduce((a, b) => a + b, 0) }]),
    );
  let last: unknown;
  const aggregated = await waitFor(
    'the service to aggregate every batch',
    async () => {
      const reply = await bus.request<OutcomesResult>('rg.qry.flags.outcomes', { key, environment: ENVIRONMENT, since });
      if (!reply.ok) throw new Error(JSON.stringify(reply.error));
      last = totals(reply.result);
      return isDeepStrictEqual(last, expected) ? reply.result : undefined;
    },
    { timeoutMs: 15_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last totals ${JSON.stringify(last)}`);
  });
  expect(totals(aggregated)).toEqual(expected);
  // Nothing counted twice: still equal once the service has settled (accepted, found duplicate, refused or
  // dropped) as many batches as the clients published (a duplicate batch would have pushed it past).
  const publishedBatches = clients.reduce((sum, o) => sum + o.client.stats.batchesPublished, 0);
  await waitFor('the service to settle every published batch', async () => (await batchesSettled()) >= publishedBatches, { timeoutMs: 15_000 });
  const again = await bus.request<OutcomesResult>('rg.qry.flags.outcomes', { key, environment: ENVIRONMENT, since });
  expect(again.ok && totals(again.result)).toEqual(expected);

  // The same through the HTTP API (snake_case).
  const http = await system.api('GET', `/api/v1/feature-flags/${key}/outcomes?environment=${ENVIRONMENT}&since=${encodeURIComponent(since)}`);
  expect(http.status).toBe(200);
  const httpTotals = Object.fromEntries(
    (http.body.totals as Array<Record<string, number & string & number[]>>).map((t) => [
      t['variant'],
      { exposures: t['exposures'], requests: t['requests'], errors: t['errors'], errorUnits: t['error_units'], latencies: (t['latency_buckets'] as number[]).reduce((a, b) => a + b, 0) },
    ]),
  );
  expect(httpTotals).toEqual(expected);
});
