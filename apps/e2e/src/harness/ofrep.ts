import type { RollgateSystem } from './system.js';

/**
 * Flags that cover what OFREP has to carry: a percentage rollout with a targeting rule (boolean), string, number
 * and object variants with a rule that picks one, and a flag switched off in the environment. Each with the
 * type a caller evaluates it as, and a default of that type.
 */
export const OFREP_ENVIRONMENT = 'production';

export type OfType = 'boolean' | 'string' | 'number' | 'object';

export interface OfrepFlag {
  key: string;
  type: OfType;
  defaultValue: boolean | string | number | Record<string, unknown>;
  definition: Record<string, unknown>;
}

const environments = (config: Record<string, unknown>) => ({ [OFREP_ENVIRONMENT]: config, staging: { enabled: true, default_rollout: { type: 'none' } } });

export function ofrepFlags(suffix: string): OfrepFlag[] {
  const experiment = (key: string, type: OfType, defaultValue: OfrepFlag['defaultValue'], payloads: unknown[]): OfrepFlag => ({
    key,
    type,
    defaultValue,
    definition: {
      key,
      name: key,
      type: 'experiment',
      variants: payloads.map((payload, i) => ({ key: `v${i}`, payload, weight: i === 0 ? 0 : i })),
      off_variant: 'v0',
      environments: environments({
        enabled: true,
        rules: [{ id: 'germany', conditions: [{ attribute: 'country', operator: 'equals', values: ['de'] }], variant: 'v1' }],
        default_rollout: { type: 'all_users' },
      }),
    },
  });
  return [
    {
      key: `of_bool_${suffix}`,
      type: 'boolean',
      defaultValue: false,
      definition: {
        key: `of_bool_${suffix}`,
        name: 'rollout with a rule',
        type: 'boolean',
        environments: environments({
          enabled: true,
          rules: [{ id: 'pro', conditions: [{ attribute: 'plan', operator: 'in', values: ['pro', 'enterprise'] }], rollout: { type: 'all_users' } }],
          default_rollout: { type: 'percentage', ppm: 300_000 },
        }),
      },
    },
    experiment(`of_string_${suffix}`, 'string', 'fallback', ['off', 'blue', 'green', 'red']),
    experiment(`of_number_${suffix}`, 'number', -1, [0, 10, 2.5]),
    experiment(`of_object_${suffix}`, 'object', {}, [{}, { layout: 'grid', columns: 3 }, { layout: 'list' }]),
    {
      key: `of_off_${suffix}`,
      type: 'boolean',
      defaultValue: true,
      definition: { key: `of_off_${suffix}`, name: 'switched off', type: 'boolean', environments: environments({ enabled: false, default_rollout: { type: 'all_users' } }) },
    },
  ];
}

/** The context of user `i`: a targeting key and attributes the rules above look at. */
export const ofrepContext = (i: number): Record<string, string> => ({
  targetingKey: `user-${i}`,
  plan: i % 5 === 0 ? 'pro' : 'free',
  country: i % 7 === 0 ? 'de' : 'us',
});

export async function createOfrepFlags(system: RollgateSystem, flags: readonly OfrepFlag[]): Promise<void> {
  for (const flag of flags) {
    const created = await system.api('POST', '/api/v1/feature-flags', { flag: flag.definition });
    if (created.status !== 201) throw new Error(`create ${flag.key}: ${created.status} ${JSON.stringify(created.body)}`);
  }
}

/** Issues an API token as the admin and returns its secret. */
export async function issueToken(system: RollgateSystem, role: string, environment?: string): Promise<string> {
  const response = await system.api('POST', '/api/v1/tokens', { name: `${role}-${environment ?? 'any'}`, role, ...(environment === undefined ? {} : { environment }) });
  if (response.status !== 201) throw new Error(`issue ${role} token: ${response.status} ${JSON.stringify(response.body)}`);
  return String(response.body.token);
}

/** A raw OFREP call (the protocol's POST with a JSON body unless `init` says otherwise). */
export function ofrepFetch(system: RollgateSystem, path: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${system.gatewayUrl}/ofrep/v1/evaluate/flags${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * What an OFREP provider resolves where the SDK's provider gives `sdk`. The same, except for the switched-off flag:
 * the SDK's provider returns the caller's default, the gateway's OFREP the flag's off value (the npm OFREP providers
 * break on OFREP's value-less "code default" item; see apps/gateway/src/edge/ofrep.mapping.ts). The suite's only
 * switched-off flag is the boolean `of_off_*`, whose off variant is `off` = false.
 */
export function asServedByOfrep<T extends { value: unknown; variant?: string; reason?: string }>(sdk: T): T {
  return sdk.reason === 'DISABLED' ? { ...sdk, value: false, variant: 'off' } : sdk;
}
