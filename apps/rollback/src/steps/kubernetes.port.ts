import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { RollbackErrorCodes } from '../rollback.errors.js';
import { StepFailure } from './step.failure.js';
import type { KubernetesOperation } from './step-operations.js';

export interface KubernetesSettings {
  apiUrl?: string;
  token?: string;
  inCluster: boolean;
  insecure: boolean;
}

export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
export const ROLLBACK_STEP_ANNOTATION = 'rollgate.io/rollback-step';

/**
 * Deployments through the Kubernetes API (`@kubernetes/client-node`): a restart is kubectl's own mechanism, a
 * merge patch of the pod template's `restartedAt` annotation, with the value fixed when the step started, so a
 * retried patch changes nothing and rolls nothing a second time; a scale patches `spec.replicas`.
 */
export class KubernetesPort {
  private readonly apps: AppsV1Api | null;

  constructor(settings: KubernetesSettings) {
    if (!settings.inCluster && settings.apiUrl === undefined) {
      this.apps = null;
      return;
    }
    const config = new KubeConfig();
    if (settings.inCluster) config.loadFromCluster();
    else {
      config.loadFromClusterAndUser(
        { name: 'rollgate', server: settings.apiUrl!, skipTLSVerify: settings.insecure },
        { name: 'rollgate', ...(settings.token === undefined ? {} : { token: settings.token }) },
      );
    }
    this.apps = config.makeApiClient(AppsV1Api);
  }

  get configured(): boolean {
    return this.apps !== null;
  }

  async apply(op: KubernetesOperation): Promise<{ namespace: string; name: string; generation?: number; replicas?: number }> {
    if (this.apps === null) {
      throw new StepFailure(
        { code: RollbackErrorCodes.kubernetesNotConfigured, message: 'no Kubernetes API configured (ROLLGATE_ROLLBACK_KUBE_API_URL or ROLLGATE_ROLLBACK_KUBE_IN_CLUSTER)' },
        false,
      );
    }
    const body =
      op.action === 'restart'
        ? { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: op.restartedAt, [ROLLBACK_STEP_ANNOTATION]: op.idempotencyKey } } } } }
        : { spec: { replicas: op.replicas } };
    try {
      const deployment = await this.apps.patchNamespacedDeployment(
        { name: op.name, namespace: op.namespace, body, fieldManager: 'rollgate-rollback' },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return {
        namespace: op.namespace,
        name: op.name,
        ...(deployment.metadata?.generation === undefined ? {} : { generation: deployment.metadata.generation }),
        ...(deployment.spec?.replicas === undefined ? {} : { replicas: deployment.spec.replicas }),
      };
    } catch (error) {
      const status = (error as { code?: number }).code;
      // 404 / 403 / 422 will not change on retry; 409, 429, 5xx and transport errors may.
      const retryable = status === undefined || status === 409 || status === 429 || status >= 500;
      const message = `Kubernetes ${op.action} of deployment ${op.namespace}/${op.name} failed${status === undefined ? '' : ` (${status})`}: ${(error as Error).message.slice(0, 300)}`;
      throw new StepFailure({ code: RollbackErrorCodes.kubernetesFailed, message, details: { status: status ?? null } }, retryable);
    }
  }
}
