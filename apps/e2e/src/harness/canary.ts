import pg from 'pg';
import { waitFor } from '#rollgate/testing';
import type { ObservedClient } from './sdk.js';
import type { RollgateSystem } from './system.js';

/** A small seeded PRNG (mulberry32): a run's traffic and kill times can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How often a user's request fails on each branch a flag serves (on = the canary cohort). */
export interface FailureRates {
  on: number;
  off: number;
}

/**
 * SDK traffic on flags until stopped: each client serves `perTick` random users per flag every 50 ms through
 * withFeature, a user's request failing with the probability its served branch is given.
 */
export function sdkTraffic(
  clients: readonly ObservedClient[],
  flags: ReadonlyArray<{ key: string; failure: FailureRates }>,
  seed: number,
  perTick = 15,
): { served: () => number; stop: () => Promise<void> } {
  const rand = seededRandom(seed);
  let running = true;
  let served = 0;
  const loops = clients.map(async ({ client }) => {
    while (running) {
      for (const { key, failure } of flags) {
        for (let i = 0; i < perTick; i++) {
          const userId = `u${Math.floor(rand() * 50_000)}`;
          const fails = (branch: 'on' | 'off') => () => {
            if (rand() < failure[branch]) throw new Error('boom');
            return branch;
          };
          try {
            client.withFeature(key, { userId }, fails('on'), fails('off'));
          } catch {
            // a failed request: tracked as an error by withFeature
          }
          served++;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  return {
    served: () => served,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** A flag as the API shows it, without what every change moves (version, timestamps). */
export const definitionOf = (flag: Record<string, unknown>): Record<string, unknown> => {
  const { version: _version, updated_at: _updated, position: _position, ...rest } = flag;
  return rest;
};

/** A query on a service's own database, as the service role sees it. */
export async function sqlOn<Row = Record<string, unknown>>(
  system: RollgateSystem,
  database: 'flags' | 'canary' | 'rollback',
  text: string,
  params: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: system.databaseUrl(database) });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** A canary through the gateway once `check` holds; a poll the gateway cannot answer (a service down) is retried. */
export function canaryUntil(
  system: RollgateSystem,
  what: string,
  id: string,
  check: (canary: Record<string, unknown>) => boolean,
  timeoutMs = 90_000,
): Promise<Record<string, unknown>> {
  return waitFor(
    what,
    async () => {
      const response = await system.api('GET', `/api/v1/canary-deployments/${id}`);
      return response.status === 200 && check(response.body) ? (response.body as Record<string, unknown>) : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}
