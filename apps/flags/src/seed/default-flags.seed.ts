import type { CreateFlagPayload } from '#rollgate/contracts';
import type { EnvironmentConfig } from '#rollgate/evaluation';
import type { FlagService } from '../flag/flag.service.js';
import { FlagErrorCodes } from '../flag/flag.errors.js';

type SeedFlag = CreateFlagPayload['flag'];

/**
 * As the seed's SQL: the environment strategy targeting development and staging, on there and off in production
 * (where the environment rollout would not match anyway: the kill switch makes "off" explicit).
 */
const environments = (): Record<string, EnvironmentConfig> => {
  const rollout = { type: 'environment', environments: ['development', 'staging'] } as const;
  return {
    development: { enabled: true, rules: [], defaultRollout: { ...rollout, environments: [...rollout.environments] } },
    staging: { enabled: true, rules: [], defaultRollout: { ...rollout, environments: [...rollout.environments] } },
    production: { enabled: false, rules: [], defaultRollout: { ...rollout, environments: [...rollout.environments] } },
  };
};

const seedFlag = (key: string, name: string, description: string, tags: string[]): SeedFlag => ({
  key,
  name,
  description,
  type: 'boolean',
  tags,
  environments: environments(),
});

/** The five default flags of the seed, with its descriptions. */
export const DEFAULT_FLAGS: readonly SeedFlag[] = [
  seedFlag('auto_submit_enabled', 'Auto Submit Enabled', 'Enable automatic dispute submission', ['seed']),
  seedFlag('smart_prompts_enabled', 'Smart Prompts Enabled', 'Enable smart prompts for ambiguous matches', ['seed']),
  seedFlag('proof_packets_enabled', 'Proof Packets Enabled', 'Enable automatic proof packet generation', ['seed']),
  seedFlag('canary_auto_submit', 'Canary Auto Submit', 'Canary deployment for auto-submit feature', ['seed', 'canary']),
  seedFlag('canary_smart_prompts', 'Canary Smart Prompts', 'Canary deployment for smart prompts feature', ['seed', 'canary']),
];

export const SEED_ACTOR = 'system:seed';

export interface SeedReport {
  created: string[];
  existing: string[];
}

/**
 * Creates each default flag once. Idempotent across restarts and replicas: a deterministic command id
 * (`seed:<key>:v1`) makes a repeat a duplicate, expected version `no_stream` makes a racing replica's create a
 * conflict that resolves to "already exists", and a flag that exists (even one since changed) is left alone.
 */
export async function seedDefaultFlags(flags: FlagService): Promise<SeedReport> {
  const report: SeedReport = { created: [], existing: [] };
  for (const flag of DEFAULT_FLAGS) {
    try {
      const result = await flags.handleFlag(
        { commandId: `seed:${flag.key}:v1`, actor: SEED_ACTOR, reason: 'default flags of the seed', payload: { flag } },
        { type: 'CreateFlag', data: { flag: structuredClone(flag) } },
      );
      (result.duplicate ? report.existing : report.created).push(flag.key);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== FlagErrorCodes.alreadyExists) throw error;
      report.existing.push(flag.key);
    }
  }
  return report;
}
