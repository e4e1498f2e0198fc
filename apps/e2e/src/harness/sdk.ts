import { isDeepStrictEqual } from 'node:util';
import { RollgateClient, type FlagChangeEvent, type RollgateClientOptions, type StatusEvent } from '#rollgate/sdk';
import { waitFor } from '#rollgate/testing';
import { mapLimit } from './helpers.js';
import type { ApiResponse, RollgateSystem } from './system.js';

const FLAGS = '/api/v1/feature-flags';
export const ENVIRONMENT = 'production';

/** One SDK client under test, with what it reported: change versions per flag, status events, warnings. */
export interface ObservedClient {
  name: string;
  client: RollgateClient;
  /** newVersion of every change event, per flag, in the order the client emitted them. */
  versions: Map<string, Array<number | undefined>>;
  statuses: StatusEvent[];
  warnings: string[];
  /** The version of each watched flag when the client became ready (its first snapshot). */
  initialVersions: Map<string, number | undefined>;
}

/** Connects an SDK client to the system's NATS (or `servers`) and records onFlagChange for each of `keys`. */
export async function observedClient(
  system: RollgateSystem,
  name: string,
  keys: readonly string[],
  options: Partial<RollgateClientOptions> = {},
): Promise<ObservedClient> {
  const warnings: string[] = [];
  const statuses: StatusEvent[] = [];
  const client = RollgateClient.create({
    environment: ENVIRONMENT,
    ...system.nats.client('sdk'),
    clientId: name,
    readyTimeoutMs: 20_000,
    statusIntervalMs: 0,
    outcomes: { enabled: false },
    logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details ?? {})}`) },
    ...options,
  });
  client.on('status', (status) => statuses.push(status));
  const versions = new Map<string, Array<number | undefined>>(keys.map((key) => [key, []]));
  for (const key of keys) client.onFlagChange(key, (change: FlagChangeEvent) => versions.get(key)!.push(change.newVersion));
  await waitFor(`SDK client ${name} ready`, async () => client.isReady, { timeoutMs: 20_000 }).catch(async (error: Error) => {
    await client.close();
    throw new Error(`${error.message}; warnings: ${warnings.join('; ')}`);
  });
  const initialVersions = new Map(keys.map((key) => [key, client.getFlag(key)?.version]));
  // Changes emitted by the first load are part of the initial state, not of the stream under test.
  for (const list of versions.values()) list.length = 0;
  return { name, client, versions, statuses, warnings, initialVersions };
}

export const observedClients = (
  system: RollgateSystem,
  count: number,
  keys: readonly string[],
  options: Partial<RollgateClientOptions> = {},
  concurrency = 10,
): Promise<ObservedClient[]> =>
  mapLimit(Array.from({ length: count }, (_, i) => i), concurrency, (i) => observedClient(system, `sdk-${i}`, keys, options));

// ---- the service's truth -------------------------------------------------------------------------------

/** The gateway's snapshot of an environment (snake_case JSON). */
export interface HttpSnapshot {
  environment: string;
  position: string;
  flags: Array<Record<string, unknown> & { key: string; version: number }>;
  segments: Array<Record<string, unknown> & { key: string }>;
}

/** The flags service's own snapshot (the truth), read through the gateway. */
export async function serviceSnapshot(system: RollgateSystem, environment = ENVIRONMENT): Promise<HttpSnapshot> {
  const response = await system.api<HttpSnapshot>('GET', `/api/v1/environments/${environment}/snapshot?source=flags-service`);
  if (response.status !== 200) throw new Error(`snapshot: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** The environment payload the gateway serves from its own memory (its local state). */
export async function gatewaySnapshot(system: RollgateSystem, environment = ENVIRONMENT): Promise<HttpSnapshot> {
  const response = await system.api<HttpSnapshot>('GET', `/api/v1/environments/${environment}/snapshot`);
  if (response.status !== 200) throw new Error(`gateway snapshot: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/**
 * Waits until the gateway's payload stands at the service snapshot's position, then checks it holds exactly the
 * snapshot's flags and segments (the gateway's local state converged like any SDK client's).
 */
export async function expectGatewayConverged(system: RollgateSystem, truth: HttpSnapshot, timeoutMs = 30_000): Promise<void> {
  const local = await waitFor('the gateway at the service snapshot position', async () => {
    const snapshot = await gatewaySnapshot(system);
    return snapshot.position === truth.position ? snapshot : undefined;
  }, { timeoutMs, intervalMs: 100 }).catch(async (error: Error) => {
    throw new Error(`${error.message}; gateway at ${(await gatewaySnapshot(system)).position}, service at ${truth.position}`);
  });
  expect({ position: local.position, flags: byKey(local.flags), segments: byKey(local.segments) }).toEqual({
    position: truth.position,
    flags: byKey(truth.flags),
    segments: byKey(truth.segments),
  });
}

/**
 * The HTTP API's snake_case, applied to what a client holds, so that it compares with the gateway's snapshot as
 * is. Same three exceptions as the gateway's edge: `environments` keys, `payload` and `context` are data.
 */
export function snakeCase(value: unknown, keepKeys = false): unknown {
  if (Array.isArray(value)) return value.map((item) => snakeCase(item));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const name = keepKeys ? key : key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (!keepKeys && (name === 'payload' || name === 'context')) out[name] = child;
    else out[name] = snakeCase(child, !keepKeys && name === 'environments');
  }
  return out;
}

const byKey = <T extends { key: string }>(items: readonly T[]): T[] => [...items].sort((a, b) => a.key.localeCompare(b.key));

/** A client's state in the gateway's JSON form, flags and segments ordered by key. */
export function clientState(client: RollgateClient): { position: string; flags: unknown[]; segments: unknown[] } {
  const snapshot = client.snapshot();
  return {
    position: snapshot.position,
    flags: byKey(snapshot.flags).map((flag) => snakeCase(flag)),
    segments: byKey(snapshot.segments).map((segment) => snakeCase(segment)),
  };
}

export interface Convergence {
  truth: HttpSnapshot;
  /** ms from the start of the wait until every client stood at the snapshot position. */
  waitedMs: number;
}

/**
 * Waits until every client's position equals the service snapshot's (asked again each round: call it once the
 * writers have stopped), then checks each client holds exactly the snapshot's flags and segments, and that every
 * client emitted each flag's changes in order: newVersion strictly increasing, never twice, ending at the
 * service's version. A client that never re-snapshotted must have emitted every version in between.
 */
export async function expectConverged(system: RollgateSystem, observed: readonly ObservedClient[], keys: readonly string[], timeoutMs = 30_000): Promise<Convergence> {
  const started = Date.now();
  let truth: HttpSnapshot | undefined;
  try {
    truth = await waitFor(
      'every client at the service snapshot position',
      async () => {
        const snapshot = await serviceSnapshot(system);
        return observed.every((o) => o.client.position === snapshot.position) ? snapshot : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (error) {
    const snapshot = await serviceSnapshot(system).catch(() => undefined);
    const behind = observed
      .filter((o) => o.client.position !== snapshot?.position)
      .map((o) => `${o.name} at ${o.client.position} (${JSON.stringify(o.client.stats)}, statuses ${o.statuses.map((s) => `${s.status}:${s.detail ?? ''}`).join(',')}, warnings ${o.warnings.slice(-3).join(' | ')})`);
    throw new Error(`${(error as Error).message}; service at ${snapshot?.position}; behind: ${behind.join('\n')}`);
  }
  const waitedMs = Date.now() - started;
  const expected = { position: truth.position, flags: byKey(truth.flags), segments: byKey(truth.segments) };
  const different = observed.filter((o) => !isDeepStrictEqual(clientState(o.client), expected));
  if (different.length > 0) {
    // The first differing flag of the first differing client shows the difference; the names say how many.
    const mine = clientState(different[0]!.client);
    const index = expected.flags.findIndex((flag, i) => !isDeepStrictEqual(mine.flags[i], flag));
    expect({ clients: different.map((o) => o.name), position: mine.position, flagCount: mine.flags.length, flag: mine.flags[index], segments: mine.segments }).toEqual({
      clients: [],
      position: expected.position,
      flagCount: expected.flags.length,
      flag: expected.flags[index],
      segments: expected.segments,
    });
  }

  const finalVersion = new Map(truth.flags.map((flag) => [flag.key, flag.version]));
  const problems: string[] = [];
  for (const o of observed) {
    const resnapshotted = o.client.stats.snapshots > 1;
    for (const key of keys) {
      const seen = o.versions.get(key)!;
      const final = finalVersion.get(key);
      const initial = o.initialVersions.get(key);
      const strictlyIncreasing = seen.every((v, i) => v !== undefined && (i === 0 ? v > (initial ?? 0) : v > seen[i - 1]!));
      const last = seen.length > 0 ? seen[seen.length - 1] : initial;
      if (!strictlyIncreasing || last !== final) problems.push(`${o.name} ${key}: from ${initial} saw [${seen.join(',')}], service at ${final}`);
      else if (!resnapshotted && final !== undefined && seen.length !== final - (initial ?? 0)) {
        problems.push(`${o.name} ${key}: no re-snapshot yet skipped versions: from ${initial} saw [${seen.join(',')}]`);
      }
    }
  }
  expect(problems).toEqual([]);
  return { truth, waitedMs };
}

// ---- writers -------------------------------------------------------------------------------------------

export type ChangeKind = 'percentage' | 'toggle' | 'users' | 'rules';

export interface ChangeResult {
  status: number;
  version?: number;
  /** 409 answers retried before this one. */
  conflicts: number;
}

/** Users added per flag by `change(…, 'users', …)` and not yet removed: a later delta removes one of them. */
const addedUsers = new Map<string, string[]>();

/**
 * One change of a flag's production config through the HTTP API, made unique by `n` so it is never a no-op
 * (which would append nothing): a percentage of n/100 %, a toggle of the state read (with If-Match), a user-list
 * delta adding `u-n` (and removing an earlier added user), or rules matching `plan-n`. Retries on 409 up to
 * `maxAttempts`; any other answer is returned as is.
 */
export async function change(system: RollgateSystem, key: string, kind: ChangeKind, n: number, maxAttempts = 100): Promise<ChangeResult> {
  let conflicts = 0;
  let removed: string | undefined;
  for (let attempt = 0; ; attempt++) {
    let response: ApiResponse;
    const base = `${FLAGS}/${key}/environments/${ENVIRONMENT}`;
    if (kind === 'percentage') {
      response = await system.api('PUT', `${base}/rollout`, { rollout_percentage: (n + 1) / 100 });
    } else if (kind === 'users') {
      if (attempt === 0 && n % 3 === 2) removed = addedUsers.get(key)?.shift();
      response = await system.api('PATCH', `${base}/users`, { add: [`u-${n}`], ...(removed === undefined ? {} : { remove: [removed] }) });
    } else if (kind === 'rules') {
      response = await system.api('PUT', `${base}/rules`, {
        rules: [{ id: `r-${n}`, conditions: [{ attribute: 'plan', operator: 'in', values: [`plan-${n}`, 'enterprise'] }] }],
      });
    } else {
      const read = await system.api('GET', `${FLAGS}/${key}`);
      if (read.status !== 200) return { status: read.status, conflicts };
      const enabled = read.body.environments[ENVIRONMENT].enabled as boolean;
      response = await system.api('PUT', base, { enabled: !enabled }, { 'if-match': `"${read.body.version}"` });
    }
    if (response.status === 409 && attempt + 1 < maxAttempts) {
      conflicts++;
      continue;
    }
    if (response.status === 200 && kind === 'users') {
      const list = addedUsers.get(key) ?? [];
      list.push(`u-${n}`);
      addedUsers.set(key, list);
    } else if (removed !== undefined) {
      addedUsers.get(key)?.unshift(removed);
    }
    return { status: response.status, version: response.status === 200 ? (response.body.version as number) : undefined, conflicts };
  }
}

/** The kinds of change that suit a flag created by `createChangeableFlags` (index even: percentage, odd: user list). */
export const kindsFor = (flagIndex: number): ChangeKind[] =>
  flagIndex % 2 === 0 ? ['percentage', 'toggle', 'rules'] : ['users', 'toggle', 'rules'];

/** `count` flags enabled in production: even ones a 10 % rollout, odd ones a user list. */
export async function createChangeableFlags(system: RollgateSystem, keys: readonly string[]): Promise<void> {
  for (const [i, key] of keys.entries()) {
    const body =
      i % 2 === 0
        ? { name: key, rollout_percentage: 10, target_environments: [ENVIRONMENT] }
        : { name: key, flag_type: 'user_list', user_ids: ['u-seed'], target_environments: [ENVIRONMENT] };
    const created = await system.api('POST', FLAGS, body);
    if (created.status !== 201) throw new Error(`create ${key}: ${created.status} ${JSON.stringify(created.body)}`);
  }
}

/** Evaluation contexts that land in different branches of the flags `change` produces. */
export const CONTEXTS = [
  { userId: 'u-seed' },
  { userId: 'u-1', plan: 'enterprise' },
  { userId: 'u-2', plan: 'free' },
  { userId: 'anonymous' },
  {},
] as const;
