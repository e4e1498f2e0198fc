import { EvaluationEngine } from '#rollgate/evaluation';
import {
  flagdFlags, flagdMemoryFlags, growthbookFeatures, growthbookMemoryFeatures, MEMORY_FLAGS, memoryFlagKey,
  rollgateFlags, rollgateMemoryFlags, unleashFlags, unleashMemoryFlags,
} from './peer-flags.js';

export const ENGINES = ['rollgate', 'rollgate-isEnabled', 'flagd-core', 'growthbook', 'unleash-client'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface User { id: string; environment: string; plan: string }

/** A loop over pre-built contexts: returns how many evaluations came out on (the result is used, so not optimized away). */
export type Loop = (users: number, evaluations: number) => number;

export interface LoadedEngine {
  loop(key: string): Loop;
  /** Evaluates every memory-test flag once for one user (perf-anchors.md §1b). */
  touchAll?(): void;
  close(): void;
}

const silent = { error() {}, warn() {}, info() {}, debug() {} };

async function unleashClient(data: unknown[]) {
  const { Unleash, InMemStorageProvider } = await import('unleash-client');
  // Offline per perf-anchors.md: bootstrap data, no polling, no metrics; the unreachable URL is never polled again.
  const client = new Unleash({
    appName: 'rollgate-bench', url: 'http://127.0.0.1:9/api/', refreshInterval: 0, disableMetrics: true,
    storageProvider: new InMemStorageProvider(), bootstrap: { data: data as never }, skipInstanceCountWarning: true,
  });
  client.on('error', () => {});
  client.on('warn', () => {});
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  return client;
}

/** Imports an engine's package, so memory readings start after the library is loaded (perf-anchors.md §1b). */
export async function preloadEngine(name: EngineName): Promise<void> {
  if (name === 'flagd-core') await import('@openfeature/flagd-core');
  if (name === 'growthbook') await import('@growthbook/growthbook');
  if (name === 'unleash-client') await import('unleash-client');
}

export async function loadEngine(name: EngineName, users: User[], memory: boolean): Promise<LoadedEngine> {
  switch (name) {
    case 'rollgate':
    case 'rollgate-isEnabled': {
      const engine = new EvaluationEngine('production');
      engine.load({ environment: 'production', flags: memory ? rollgateMemoryFlags() : rollgateFlags() });
      const contexts = users.map((u) => ({ userId: u.id, environment: u.environment, plan: u.plan }));
      const loop = name === 'rollgate'
        ? (key: string): Loop => (count, n) => {
          let on = 0;
          for (let i = 0; i < n; i++) if (engine.evaluate(key, contexts[i % count]!, false).value) on++;
          return on;
        }
        : (key: string): Loop => (count, n) => {
          let on = 0;
          for (let i = 0; i < n; i++) if (engine.isEnabled(key, contexts[i % count]!)) on++;
          return on;
        };
      return { loop, touchAll: () => { for (let i = 0; i < MEMORY_FLAGS; i++) engine.evaluate(memoryFlagKey(i), contexts[0]!, false); }, close() {} };
    }
    case 'flagd-core': {
      const { FlagdCore } = await import('@openfeature/flagd-core');
      const core = new FlagdCore();
      core.setConfigurations(memory ? flagdMemoryFlags() : JSON.stringify({ flags: flagdFlags() }));
      const contexts = users.map((u) => ({ targetingKey: u.id, environment: u.environment, plan: u.plan }));
      return {
        loop: (key) => (count, n) => {
          let on = 0;
          for (let i = 0; i < n; i++) if (core.resolveBooleanEvaluation(key, false, contexts[i % count]!, silent).value) on++;
          return on;
        },
        touchAll: () => { for (let i = 0; i < MEMORY_FLAGS; i++) core.resolveBooleanEvaluation(memoryFlagKey(i), false, contexts[0]!, silent); },
        close() {},
      };
    }
    case 'growthbook': {
      const { GrowthBookClient } = await import('@growthbook/growthbook');
      const gb = new GrowthBookClient({});
      gb.initSync({ payload: { features: (memory ? growthbookMemoryFeatures() : growthbookFeatures()) as never } });
      const contexts = users.map((u) => ({ attributes: { id: u.id, environment: u.environment, plan: u.plan } }));
      return {
        loop: (key) => (count, n) => {
          let on = 0;
          for (let i = 0; i < n; i++) if (gb.isOn(key, contexts[i % count]!)) on++;
          return on;
        },
        touchAll: () => { for (let i = 0; i < MEMORY_FLAGS; i++) gb.isOn(memoryFlagKey(i), contexts[0]!); },
        close: () => gb.destroy?.(),
      };
    }
    case 'unleash-client': {
      const client = await unleashClient(memory ? unleashMemoryFlags() : unleashFlags());
      const contexts = users.map((u) => ({ userId: u.id, environment: u.environment, properties: { plan: u.plan } }));
      return {
        loop: (key) => (count, n) => {
          let on = 0;
          for (let i = 0; i < n; i++) if (client.isEnabled(key, contexts[i % count]!)) on++;
          return on;
        },
        touchAll: () => { for (let i = 0; i < MEMORY_FLAGS; i++) client.isEnabled(memoryFlagKey(i), contexts[0]!); },
        close: () => client.destroy(),
      };
    }
  }
}
