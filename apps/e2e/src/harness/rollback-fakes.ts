import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '#rollgate/testing';
import type { ApiResponse, RollgateSystem } from './system.js';

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

export interface WebhookDelivery {
  path: string;
  key: string | undefined;
  signatureValid: boolean;
  body: Record<string, unknown>;
  at: number;
}

/** A webhook receiver on loopback: records every delivery, checks the HMAC, dedupes by Idempotency-Key as a receiver should. */
export class WebhookReceiver {
  readonly deliveries: WebhookDelivery[] = [];
  /** Per path: delay before answering (slow steps), status to answer. */
  delayMs = new Map<string, number>();
  private server!: Server;
  url = '';

  constructor(private readonly secret: string) {}

  static async start(secret: string): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret);
    receiver.server = createServer((req, res) => void receiver.handle(req, res));
    receiver.url = await listen(receiver.server);
    return receiver;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const signature = String(req.headers['rollgate-signature'] ?? '');
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
    const expected = match === null ? '' : createHmac('sha256', this.secret).update(`${match[1]}.${body}`).digest('hex');
    const path = req.url ?? '/';
    const delay = this.delayMs.get(path) ?? 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    this.deliveries.push({ path, key: req.headers['idempotency-key'] as string | undefined, signatureValid: match !== null && match[2] === expected, body: JSON.parse(body) as Record<string, unknown>, at: Date.now() });
    res.statusCode = 200;
    res.end('{}');
  }

  /** Side effects as a deduping receiver performs them: one per key. */
  effects(): Map<string, number> {
    const byKey = new Map<string, number>();
    for (const delivery of this.deliveries) byKey.set(delivery.key ?? '', (byKey.get(delivery.key ?? '') ?? 0) + 1);
    return byKey;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface FakeDeployment {
  name: string;
  namespace: string;
  replicas: number;
  generation: number;
  annotations: Record<string, string>;
}

/**
 * The part of the Kubernetes API the rollback steps use, on loopback (no cluster here): merge-PATCH of
 * /apis/apps/v1/namespaces/{ns}/deployments/{name}. A patch that changes the pod template (a new restartedAt) is a
 * rollout, as the API server counts one; the same value again changes nothing.
 */
export class FakeKubernetes {
  readonly deployments = new Map<string, FakeDeployment>();
  readonly patches: Array<{ namespace: string; name: string; contentType: string; body: unknown }> = [];
  /** Rollouts per deployment: template changes, as a Deployment controller would start them. */
  readonly rollouts = new Map<string, string[]>();
  private server!: Server;
  url = '';

  static async start(): Promise<FakeKubernetes> {
    const fake = new FakeKubernetes();
    fake.server = createServer((req, res) => void fake.handle(req, res));
    fake.url = await listen(fake.server);
    return fake;
  }

  add(namespace: string, name: string, replicas = 2): void {
    this.deployments.set(`${namespace}/${name}`, { name, namespace, replicas, generation: 1, annotations: {} });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/?]+)/.exec(req.url ?? '');
    const deployment = match === null ? undefined : this.deployments.get(`${match[1]}/${match[2]}`);
    res.setHeader('content-type', 'application/json');
    if (req.method !== 'PATCH' || deployment === undefined) {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    const patch = JSON.parse(body) as { spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } } };
    this.patches.push({ namespace: deployment.namespace, name: deployment.name, contentType: String(req.headers['content-type']), body: patch });
    const annotations = patch.spec?.template?.metadata?.annotations;
    if (annotations !== undefined) {
      const changed = Object.entries(annotations).some(([key, value]) => deployment.annotations[key] !== value);
      if (changed) {
        deployment.annotations = { ...deployment.annotations, ...annotations };
        deployment.generation++;
        const key = `${deployment.namespace}/${deployment.name}`;
        this.rollouts.set(key, [...(this.rollouts.get(key) ?? []), annotations['kubectl.kubernetes.io/restartedAt'] ?? '']);
      }
    }
    if (patch.spec?.replicas !== undefined && patch.spec.replicas !== deployment.replicas) {
      deployment.replicas = patch.spec.replicas;
      deployment.generation++;
    }
    res.statusCode = 200;
    res.end(
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: deployment.name, namespace: deployment.namespace, generation: deployment.generation },
        spec: { replicas: deployment.replicas, template: { metadata: { annotations: deployment.annotations } } },
      }),
    );
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'preempted']);

/** GET /api/v1/rollbacks/{id}/status until the execution is finished. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function finishedRollback(system: RollgateSystem, id: string, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    `rollback ${id} finished`,
    async () => {
      const response: ApiResponse = await system.api('GET', `/api/v1/rollbacks/${id}/status`);
      return response.status === 200 && TERMINAL.has(response.body.status) ? response.body : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}
