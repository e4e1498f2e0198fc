import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Registry } from 'prom-client';
import {
  LATENCY_BUCKETS_MS,
  type AnalyticsResult,
  type OutcomeBatch,
  type OutcomesResult,
  type OutcomeTotals,
  type Reply,
  eventStreamName,
} from '#rollgate/contracts';
import type { FlagDefinition } from '#rollgate/evaluation';
import { RollgateClient } from '#rollgate/sdk';
import { waitFor, type PrivateNats } from '#rollgate/testing';
import { OutcomeIntake } from './outcome-intake.js';
import { startFlagsTestApp, type FlagsTestApp } from '../testing/flags-test-app.js';

const ENV = 'production';
const CLIENTS = 4;
const USERS_PER_CLIENT = 60;
/** The contract's bucket of a latency: the first bound it does not exceed, else the overflow bucket. */
const latencyBucket = (ms: number): number => {
  const index = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return index === -1 ? LATENCY_BUCKETS_MS.length : index;
};

interface Expected {
  exposures: number;
  requests: number;
  errors: number;
  errorUsers: Set<string>;
  latency: number[];
}

describe(OutcomeIntake.name, () => {
  let testApp: FlagsTestApp;
  let nats: PrivateNats;
  let app: NestFastifyApplication;
  let nc: NatsConnection;
  // The test app's NATS is private: the service's own stream, which the flags user may create.
  const streamName = eventStreamName('flags');
  const since = new Date(Date.now() - 120_000).toISOString();

  const request = async <T>(subject: string, body: unknown): Promise<T> => {
    const reply = (await nc.request(subject, JSON.stringify(body), { timeout: 10_000 })).json<Reply<T>>();
    if (!reply.ok) throw new Error(`expected ok, got ${JSON.stringify(reply.error)}`);
    return reply.result;
  };
  const create = (flag: Omit<FlagDefinition, 'version'>) =>
    request('rg.cmd.flags.create', { commandId: randomUUID(), actor: 'tester', payload: { flag } });
  const outcomes = (key: string) => request<OutcomesResult>('rg.qry.flags.outcomes', { key, environment: ENV, since });
  const batchesCounted = async (result: string): Promise<number> => {
    const metric = await app.get(Registry).getSingleMetric('rollgate_flags_outcome_batches_total')!.get();
    return metric.values.filter((v) => v.labels['result'] === result).reduce((sum, v) => sum + v.value, 0);
  };
  const totalsOf = (result: OutcomesResult): Record<string, Pick<OutcomeTotals, 'exposures' | 'requests' | 'errors' | 'errorUnits' | 'latencyBuckets'>> =>
    Object.fromEntries(
      result.totals.map((t) => [t.variant, { exposures: t.exposures, requests: t.requests, errors: t.errors, errorUnits: t.errorUnits, latencyBuckets: t.latencyBuckets }]),
    );
  const expectedOf = (cohorts: Map<string, Expected>) =>
    Object.fromEntries(
      [...cohorts].map(([variant, e]) => [variant, { exposures: e.exposures, requests: e.requests, errors: e.errors, errorUnits: e.errorUsers.size, latencyBuckets: e.latency }]),
    );

  beforeAll(async () => {
    testApp = await startFlagsTestApp({
      ROLLGATE_FLAGS_SEED: 'false',
    });
    ({ app, nats, nc } = testApp);
    const production = (defaultRollout: FlagDefinition['environments'][string]['defaultRollout']) => ({ [ENV]: { enabled: true, rules: [], defaultRollout } });
    await create({ key: 'o-split', name: 'o-split', type: 'percentage', environments: production({ type: 'percentage', ppm: 500_000 }) });
    await create({ key: 'o-all', name: 'o-all', type: 'boolean', environments: production({ type: 'all_users' }) });
    await create({
      key: 'o-exp',
      name: 'o-exp',
      type: 'experiment',
      variants: [{ key: 'control', weight: 1, payload: 'old' }, { key: 'treatment', weight: 1, payload: 'new' }],
      offVariant: 'control',
      environments: production({ type: 'all_users' }),
    });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('aggregates exactly what N SDK clients tracked: requests, errors, error users, latency buckets and exposures per variant', async () => {
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, (_, c) => {
        let tick = 0;
        return RollgateClient.connect({
          environment: ENV,
          ...nats.client(),
          streamName,
          clientId: `client-${c}`,
          // One window per client, cut by flushOutcomes(); withFeature latencies are 3 ms each.
          outcomes: { windowMs: 3_600_000 },
          monotonic: () => (tick += 3),
          statusIntervalMs: 0,
          logger: { warn: () => undefined },
        });
      }),
    );
    const expected = new Map<string, Map<string, Expected>>();
    const cohort = (key: string, variant: string): Expected => {
      let flag = expected.get(key);
      if (flag === undefined) expected.set(key, (flag = new Map()));
      let e = flag.get(variant);
      if (e === undefined) {
        e = { exposures: 0, requests: 0, errors: 0, errorUsers: new Set(), latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) };
        flag.set(variant, e);
      }
      return e;
    };
    const outcome = (e: Expected, userId: string, error: boolean, latencyMs: number): void => {
      e.requests++;
      if (error) {
        e.errors++;
        e.errorUsers.add(userId);
      }
      e.latency[latencyBucket(latencyMs)]!++;
    };

    try {
      clients.forEach((client, c) => {
        for (let i = 0; i < USERS_PER_CLIENT; i++) {
          const userId = `user-${c}-${i}`;
          const ctx = { userId };
          // withFeature: the branch that ran says which cohort; some of each branch throw.
          try {
            client.withFeature(
              'o-split',
              ctx,
              () => {
                const e = cohort('o-split', 'on');
                e.exposures++;
                outcome(e, userId, i % 5 === 0, 3);
                if (i % 5 === 0) throw new Error('on failed');
              },
              () => {
                const e = cohort('o-split', 'off');
                e.exposures++;
                outcome(e, userId, i % 7 === 0, 3);
                if (i % 7 === 0) throw new Error('off failed');
              },
            );
          } catch {
            // the workload's own errors
          }
          // isEnabled counts an exposure of what it served.
          for (let k = 0; k < 2; k++) cohort('o-split', client.isEnabled('o-split', ctx) ? 'on' : 'off').exposures++;
          // track(): no exposure; every user is on for o-all.
          const latencyMs = [1, 20, 300, 20_000][i % 4]!;
          client.track('o-all', ctx, { outcome: i % 3 === 0 ? 'error' : 'success', latencyMs });
          outcome(cohort('o-all', 'on'), userId, i % 3 === 0, latencyMs);
          // An experiment: evaluate() exposes the served variant; errors tracked against a named cohort.
          cohort('o-exp', client.evaluate('o-exp', ctx, 'none').variant!).exposures++;
          if (i % 10 === 0) {
            client.track('o-exp', ctx, { outcome: 'error', variant: 'treatment', latencyMs: 7 });
            outcome(cohort('o-exp', 'treatment'), userId, true, 7);
          }
        }
      });
      const before = await batchesCounted('accepted');
      const published = clients.reduce((sum, client) => sum + client.flushOutcomes(), 0);
      expect(published).toBe(CLIENTS * 3);
      await waitFor('every batch counted', async () => (await batchesCounted('accepted')) >= before + published);

      for (const key of ['o-split', 'o-all', 'o-exp']) {
        const result = await outcomes(key);
        expect(totalsOf(result)).toEqual(expectedOf(expected.get(key)!));
        expect(result.totals.every((t) => t.batches === CLIENTS)).toBe(true);
        // All of it in the minute rows too.
        expect(result.rows.reduce((sum, row) => sum + row.requests, 0)).toBe(result.totals.reduce((sum, t) => sum + t.requests, 0));
      }
      expect(cohort('o-split', 'on').exposures).toBeGreaterThan(0);
      expect(cohort('o-split', 'off').exposures).toBeGreaterThan(0);

      // Exposures also land in the evaluation analytics, with the value each variant serves.
      const analytics = await request<AnalyticsResult>('rg.qry.flags.analytics', { key: 'o-exp', environment: ENV, since });
      const byVariant = Object.fromEntries(
        ['control', 'treatment'].map((variant) => [variant, analytics.rows.filter((r) => r.variant === variant).reduce((sum, r) => sum + r.count, 0)]),
      );
      expect(byVariant).toEqual({ control: cohort('o-exp', 'control').exposures, treatment: cohort('o-exp', 'treatment').exposures });
      expect(new Set(analytics.rows.map((r) => `${r.variant}=${r.value}`))).toEqual(new Set(['control="old"', 'treatment="new"']));
      const split = await request<AnalyticsResult>('rg.qry.flags.analytics', { key: 'o-split', environment: ENV, since });
      expect(split.totals[0]).toMatchObject({ count: cohort('o-split', 'on').exposures + cohort('o-split', 'off').exposures, enabled: cohort('o-split', 'on').exposures });
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });

  it('counts a redelivered batch once and drops malformed ones without stopping', async () => {
    const batch: OutcomeBatch = {
      schema: 1,
      batchId: randomUUID(),
      clientId: 'replayer',
      environment: ENV,
      flagKey: 'o-replay',
      windowStart: new Date().toISOString(),
      windowMs: 10_000,
      droppedWindows: 0,
      cohorts: [
        {
          variant: 'on',
          exposures: 5,
          requests: 4,
          errors: 2,
          errorUnits: 1,
          errorUnitsCapped: false,
          latencyBuckets: [1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0],
          latencySumMs: 151,
        },
      ],
    };
    const [accepted, duplicate, invalid] = await Promise.all(['accepted', 'duplicate', 'invalid'].map(batchesCounted));
    const malformed: Array<[string, string]> = [
      ['rg.obs.production.o-replay', 'not json'],
      ['rg.obs.production.o-replay', JSON.stringify({ ...batch, batchId: randomUUID(), flagKey: 'other' })],
      ['rg.obs.production.o-replay', JSON.stringify({ ...batch, batchId: randomUUID(), cohorts: [{ ...batch.cohorts[0], errors: 9 }] })],
      ['rg.obs.production.o-replay', JSON.stringify({ ...batch, batchId: randomUUID(), cohorts: [{ ...batch.cohorts[0], latencyBuckets: [1] }] })],
      ['rg.obs.production.o-replay', JSON.stringify({ ...batch, batchId: undefined })],
      ['rg.obs.production.o-replay', JSON.stringify({ ...batch, batchId: randomUUID(), extra: true })],
      ['rg.obs.production', JSON.stringify(batch)],
      ['rg.obs.production.o-replay.x', JSON.stringify(batch)],
    ];
    for (const [subject, body] of malformed) nc.publish(subject, body);
    nc.publish('rg.obs.production.o-replay', JSON.stringify(batch));
    await waitFor('the first delivery counted', async () => (await batchesCounted('accepted')) === accepted + 1);
    nc.publish('rg.obs.production.o-replay', JSON.stringify(batch));
    await waitFor('the second delivery seen', async () => (await batchesCounted('duplicate')) === duplicate + 1);
    expect(await batchesCounted('invalid')).toBe(invalid + malformed.length);

    const result = await outcomes('o-replay');
    expect(result.totals).toEqual([
      expect.objectContaining({ variant: 'on', exposures: 5, requests: 4, errors: 2, errorUnits: 1, errorRate: 0.5, latencySumMs: 151, batches: 1 }),
    ]);
    expect(result.rows).toHaveLength(1);
    expect(result.latencyBucketsMs).toEqual(LATENCY_BUCKETS_MS);
  });

  it('answers a bad outcomes query with GENERIC.VALIDATION', async () => {
    const reply = (await nc.request('rg.qry.flags.outcomes', JSON.stringify({ key: 'Bad Key', since: 'yesterday' }), { timeout: 10_000 })).json<Reply<unknown>>();
    expect(reply.ok ? 'OK' : reply.error.code).toBe('GENERIC.VALIDATION');
  });
});
