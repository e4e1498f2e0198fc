import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ROOT,
  containerOf,
  envValue,
  natsConfigUsers,
  podSpec,
  renderOverlay,
  startScriptServices,
  validateObject,
  type K8sObject,
} from './manifests.js';

/**
 * deploy/: each overlay renders offline with `kubectl kustomize`, every object is valid against the Kubernetes
 * schemas (kubernetes-models), and the objects agree with what the services actually read and serve: their
 * ports and health routes (scripts/start.mjs is the contract), their NATS users and password variables
 * (deploy/nats/rollgate.conf, mounted unchanged), the migrate entry point, and the Secrets and ConfigMaps they
 * reference.
 */
const OVERLAYS = ['deploy/overlays/dev', 'deploy/overlays/production'] as const;
/** The Secrets production expects to exist (docs/operations.md, Deploy); never rendered from the repository. */
const EXTERNAL_SECRETS = ['rollgate-database', 'rollgate-nats', 'rollgate-tokens'];
const SERVICES = startScriptServices();
const NATS_USERS = natsConfigUsers();
const NATS_CONF = readFileSync(resolve(ROOT, 'deploy/nats/rollgate.conf'), 'utf8');

const rendered = new Map<string, K8sObject[]>(OVERLAYS.map((dir) => [dir, renderOverlay(dir)]));
const objects = (dir: string): K8sObject[] => rendered.get(dir)!;
/** Generated names carry a content hash (`rollgate-nats-h2k5…`); find them by the name they were generated from. */
const named = (dir: string, kind: string, name: string): K8sObject | undefined =>
  objects(dir).find((o) => o.kind === kind && (o.metadata.name === name || o.metadata.name.startsWith(`${name}-`)) && !o.metadata.name.endsWith('-migrate'));
const required = (dir: string, kind: string, name: string): K8sObject => {
  const found = named(dir, kind, name);
  if (!found) throw new Error(`${dir}: no ${kind} ${name}`);
  return found;
};
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Every Secret and ConfigMap reference in a pod spec, as [kind, name, key?]. */
function references(spec: Json): [string, string, string | undefined][] {
  const refs: [string, string, string | undefined][] = [];
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) refs.push(['Secret', e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]);
      if (e.valueFrom?.configMapKeyRef) refs.push(['ConfigMap', e.valueFrom.configMapKeyRef.name, e.valueFrom.configMapKeyRef.key]);
    }
    for (const from of c.envFrom ?? []) {
      if (from.secretRef) refs.push(['Secret', from.secretRef.name, undefined]);
      if (from.configMapRef) refs.push(['ConfigMap', from.configMapRef.name, undefined]);
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap) refs.push(['ConfigMap', v.configMap.name, undefined]);
    if (v.secret) refs.push(['Secret', v.secret.secretName, undefined]);
  }
  return refs;
}

const workloads = (dir: string): K8sObject[] => objects(dir).filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));

describe.each(OVERLAYS)('%s', (dir) => {
  it('renders objects that all validate against the Kubernetes schemas', async () => {
    expect(objects(dir).length).toBeGreaterThan(20);
    for (const object of objects(dir)) {
      await expect(validateObject(object)).resolves.toBeUndefined();
    }
  });

  it.each(SERVICES)('runs $name as the start script does: port $port, health routes, its NATS user, a drain on SIGTERM', ({ name, port }) => {
    const deployment = required(dir, 'Deployment', name);
    const app = containerOf(deployment, 'app');
    expect(app.command).toEqual(['node']);
    expect(app.args).toEqual([`dist/apps/${name}/src/main.js`]);
    expect(envValue(app.env, 'ROLLGATE_HTTP_PORT').value).toBe(String(port));
    expect(app.ports).toEqual([{ name: 'http', containerPort: port }]);
    expect(app.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(app.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    // The preStop pause ends well inside the grace period, leaving the drain its time before SIGKILL.
    const pause = Number(app.lifecycle.preStop.exec.command[1]);
    expect(podSpec(deployment).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(pause + 30);
    expect(app.resources.requests.cpu).toBeDefined();
    expect(app.resources.limits.memory).toBeDefined();

    expect(envValue(app.env, 'NATS_USER').value).toBe(name);
    expect(NATS_USERS.has(name)).toBe(true);
    expect(envValue(app.env, 'NATS_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: expect.stringMatching(/^rollgate-nats/), key: NATS_USERS.get(name) });

    const service = required(dir, 'Service', name);
    expect(service.spec.ports).toEqual([{ name: 'http', port, targetPort: 'http' }]);
    expect(matches(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);

    const pdb = required(dir, 'PodDisruptionBudget', name);
    expect(pdb.spec.minAvailable).toBe(1);
    expect(matches(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
  });

  it.each(SERVICES)('migrates $name with a Job running `main.js migrate` as the owner role', ({ name }) => {
    const job = objects(dir).find((o) => o.kind === 'Job' && o.metadata.name === `${name}-migrate`);
    expect(job).toBeDefined();
    const migrate = containerOf(job!, 'migrate');
    expect([...migrate.command, ...migrate.args]).toEqual(['node', `dist/apps/${name}/src/main.js`, 'migrate']);
    expect(envValue(migrate.env, 'ROLLGATE_MIGRATION_DATABASE_URL').valueFrom.secretKeyRef.key).toBe(`${name.toUpperCase()}_MIGRATION_DATABASE_URL`);
    expect(migrate.image).toBe(containerOf(required(dir, 'Deployment', name), 'app').image);
  });

  it('gives NATS deploy/nats/rollgate.conf unchanged, with every password variable it reads', () => {
    const config = required(dir, 'ConfigMap', 'nats-config');
    expect(config.data['rollgate.conf']).toBe(NATS_CONF);
    const nats = required(dir, 'StatefulSet', 'nats');
    const server = containerOf(nats, 'nats');
    expect(server.args).toContain('--config=/etc/nats/rollgate.conf');
    expect(server.args).toContain('--jetstream');
    expect(podSpec(nats).volumes).toContainEqual({ name: 'config', configMap: { name: config.metadata.name } });
    expect(server.envFrom).toEqual([{ secretRef: { name: expect.stringMatching(/^rollgate-nats/) } }]);
    expect(server.readinessProbe.httpGet.path).toBe('/healthz?js-enabled-only=true');
    expect(required(dir, 'PodDisruptionBudget', 'nats').spec.maxUnavailable).toBe(1);
  });

  it('resolves every ConfigMap and Secret a workload references', () => {
    const secrets = objects(dir).filter((o) => o.kind === 'Secret');
    for (const workload of workloads(dir)) {
      for (const [kind, name, key] of references(podSpec(workload))) {
        if (kind === 'Secret' && dir.endsWith('production')) {
          expect(EXTERNAL_SECRETS).toContain(name);
          continue;
        }
        const target = objects(dir).find((o) => o.kind === kind && o.metadata.name === name);
        if (!target) throw new Error(`${workload.kind} ${workload.metadata.name} references ${kind} ${name}, which ${dir} does not render`);
        if (key !== undefined) expect(Object.keys(target.data ?? {})).toContain(key);
      }
    }
    if (dir.endsWith('production')) expect(secrets).toEqual([]);
    else {
      const nats = secrets.find((s) => s.metadata.name.startsWith('rollgate-nats'))!;
      expect(Object.keys(nats.data).sort()).toEqual([...NATS_USERS.values()].sort());
    }
  });

  it('autoscales the gateway Deployment and replicates streams no wider than the NATS cluster', () => {
    const hpa = required(dir, 'HorizontalPodAutoscaler', 'gateway');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'gateway' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
    const natsReplicas = required(dir, 'StatefulSet', 'nats').spec.replicas;
    const config = required(dir, 'ConfigMap', 'rollgate-config');
    expect(Number(config.data.ROLLGATE_STREAM_REPLICAS)).toBeLessThanOrEqual(natsReplicas);
    for (const name of SERVICES.map((s) => s.name)) {
      expect(containerOf(required(dir, 'Deployment', name), 'app').envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }]);
    }
  });
});

describe('deploy/overlays/production', () => {
  const dir = 'deploy/overlays/production';

  it('runs a three-node NATS cluster with every event stream replicated three times', () => {
    const nats = required(dir, 'StatefulSet', 'nats');
    expect(nats.spec.replicas).toBe(3);
    const args: string[] = containerOf(nats, 'nats').args;
    expect(args).toContain('--server_name=$(POD_NAME)');
    expect(args).toContain('--cluster_name=rollgate');
    const routes = args.find((a) => a.startsWith('--routes='))!.slice('--routes='.length).split(',');
    expect(routes).toEqual([0, 1, 2].map((i) => `nats://nats-${i}.${nats.spec.serviceName}:6222`));
    const config = required(dir, 'ConfigMap', 'rollgate-config');
    expect(config.data.ROLLGATE_STREAM_REPLICAS).toBe('3');
    expect(config.data.NATS_URL.split(',')).toHaveLength(3);
  });

  it('runs at least two replicas of every service, a standby publisher for each', () => {
    for (const { name } of SERVICES) expect(required(dir, 'Deployment', name).spec.replicas).toBeGreaterThanOrEqual(2);
    expect(required(dir, 'HorizontalPodAutoscaler', 'gateway').spec.minReplicas).toBeGreaterThanOrEqual(2);
  });
});

describe(validateObject.name, () => {
  it('rejects an object that breaks its schema', async () => {
    const broken = structuredClone(objects('deploy/overlays/dev').find((o) => o.kind === 'Deployment')!);
    broken['spec'].replicas = 'two';
    await expect(validateObject(broken)).rejects.toThrow(/replicas must be integer/);
  });
});
