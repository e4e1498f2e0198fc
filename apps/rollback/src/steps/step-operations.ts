import type { EnvironmentConfig, FlagCommandVerb, Rollout } from '#rollgate/contracts';

/**
 * What a step does, fixed in its StepStarted event before any side effect: a resumed step replays exactly these,
 * with the same idempotency keys, so a crash between the effect and its record never doubles the effect.
 */
export type FlagIntent =
  | { check: 'disabled'; key: string; environment: string }
  | { check: 'rollout'; key: string; environment: string; rollout: Rollout }
  /** The whole definition (minus version) the command left: filled in from the reply (restores). */
  | { check: 'definition'; key: string; hash: string }
  | { check: 'environment'; key: string; environment: string; hash: string }
  | { check: 'no_segment'; key: string; environment: string; segment: string }
  | { check: 'no_users'; key: string; environment: string; users: string[] };

export interface FlagOperation {
  kind: 'flag';
  verb: FlagCommandVerb;
  payload: Record<string, unknown>;
  /** The flags command id: `rb:<execution>:<step>:<n>`. */
  commandId: string;
  /** Null when only the reply can tell (a restore): then the intent is the definition it left. */
  intent: FlagIntent | null;
}

export interface WaitOperation {
  kind: 'wait';
  /** The execution's last flag change (global position in the flags log); null when it changed none. */
  position: string | null;
  environments: string[] | null;
  timeoutMs: number;
  minClients: number;
}

export interface KubernetesOperation {
  kind: 'kubernetes';
  action: 'restart' | 'scale';
  namespace: string;
  name: string;
  /** restart: the `kubectl.kubernetes.io/restartedAt` value, the step's start time: a retry patches the same value. */
  restartedAt?: string;
  replicas?: number;
  /** `<execution>.<step>`, also written as the `rollgate.io/rollback-step` annotation. */
  idempotencyKey: string;
}

export interface WebhookOperation {
  kind: 'webhook';
  url: string;
  idempotencyKey: string;
  body: Record<string, unknown>;
  timeoutMs: number;
}

export interface CanaryOperation {
  kind: 'canary';
  canaryId: string;
  outcome: 'rolled_back' | 'aborted';
  commandId: string;
}

export type Operation = FlagOperation | WaitOperation | KubernetesOperation | WebhookOperation | CanaryOperation;

/** One flag command's outcome, kept in the step's result (and read by waits, compensation and the consistency check). */
export interface FlagOperationResult {
  key: string;
  verb: FlagCommandVerb;
  version: number;
  position: string;
  appended: number;
  duplicate: boolean;
  intent: FlagIntent | null;
}

export interface FlagStepResult {
  flags: FlagOperationResult[];
}

export const isFlagStepResult = (result: unknown): result is FlagStepResult =>
  typeof result === 'object' && result !== null && Array.isArray((result as FlagStepResult).flags);

export type { EnvironmentConfig };
