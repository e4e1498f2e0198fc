import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';

export const ROOT = resolve(import.meta.dirname, '../../../..');

/** A rendered Kubernetes object, as far as the checks read it. */
// Manifests are untyped YAML that the checks read field by field; `any` keeps them terse.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; [key: string]: any }; [key: string]: any };

/** `kubectl kustomize` of a directory under deploy/, offline, parsed. */
export function renderOverlay(dir: string): K8sObject[] {
  const yaml = execFileSync('kubectl', ['kustomize', resolve(ROOT, dir)], { encoding: 'utf8', timeout: 30_000 });
  return (loadAllYaml(yaml) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
}

/**
 * Validates one object against the Kubernetes schema of its apiVersion and kind (kubernetes-models, offline).
 * Throws for a kind the package does not know: every object we ship must be checked.
 */
export async function validateObject(object: K8sObject): Promise<void> {
  const modulePath = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  const exports = (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = exports[object.kind];
  if (!Model) throw new Error(`${modulePath} has no model ${object.kind}`);
  new Model(withUnwrappedSecretData(object)).validate();
}

/**
 * Kustomize wraps long base64 values of generated Secrets at 70 columns; the API server's decoder skips the line
 * breaks, the schema's `byte` format does not.
 */
function withUnwrappedSecretData(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || !object['data']) return object;
  const data = Object.fromEntries(Object.entries(object['data'] as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, '')]));
  return { ...object, data };
}

/**
 * The services and ports `npm start` runs (scripts/start.mjs SERVICES), read from the script so the manifests,
 * the compose file and the start script cannot drift apart unnoticed.
 */
export function startScriptServices(): { name: string; port: number }[] {
  const source = readFileSync(resolve(ROOT, 'scripts/start.mjs'), 'utf8');
  const services = [...source.matchAll(/\{\s*name:\s*'([a-z]+)',\s*port:\s*(\d+)/g)].map((m) => ({ name: m[1]!, port: Number(m[2]) }));
  if (services.length === 0) throw new Error('no SERVICES found in scripts/start.mjs');
  return services;
}

/** The users deploy/nats/rollgate.conf defines, with the variable each password is read from. */
export function natsConfigUsers(): Map<string, string> {
  const conf = readFileSync(resolve(ROOT, 'deploy/nats/rollgate.conf'), 'utf8');
  return new Map([...conf.matchAll(/\{\s*user:\s*([a-z]+),\s*password:\s*\$([A-Z_]+)/g)].map((m) => [m[1]!, m[2]!]));
}

// Containers and env entries are untyped YAML.
/* eslint-disable @typescript-eslint/no-explicit-any */
export type Env = { name: string; value?: string; valueFrom?: any }[];

export const podSpec = (o: K8sObject): any => o['spec']?.template?.spec;

export const containerOf = (o: K8sObject, name: string): any => podSpec(o)?.containers?.find((c: any) => c.name === name);

export const envValue = (env: Env | undefined, name: string): any => env?.find((e) => e.name === name);
/* eslint-enable @typescript-eslint/no-explicit-any */
