import type { EnvironmentConfig } from '../flags/flag.events.js';

/**
 * The canary service's model (design.md §6): camelCase here and on the bus; the gateway speaks the seed's
 * snake_case (`feature_flag_id`, `target_percentage`, `monitoring_duration_hours`, `success_criteria`).
 */
export const CANARY_STRATEGIES = ['percentage', 'user_list', 'environment', 'gradual', 'ab_test'] as const;
export type CanaryStrategy = (typeof CANARY_STRATEGIES)[number];

/**
 * created → running (stage by stage) → promoting → promoted, or → rolling_back → rolled_back, or → cancelled.
 * `inconclusive` (no certificate by the deadline) and `paused` (a regression under the `pause` policy) hold the
 * flag where it is and keep judging; an operator promotes (with an override) or rolls back from there. An
 * operator's pause of a running canary is `paused` too, with `hold` set: nothing is judged until it resumes.
 */
export const CANARY_STATUSES = [
  'created',
  'running',
  'inconclusive',
  'paused',
  'promoting',
  'promoted',
  'rolling_back',
  'rolled_back',
  'cancelled',
] as const;
export type CanaryStatus = (typeof CANARY_STATUSES)[number];

/** Statuses in which a canary owns its flag: at most one such canary per flag. */
export const ACTIVE_CANARY_STATUSES: readonly CanaryStatus[] = [
  'created',
  'running',
  'inconclusive',
  'paused',
  'promoting',
  'rolling_back',
];
export const TERMINAL_CANARY_STATUSES: readonly CanaryStatus[] = ['promoted', 'rolled_back', 'cancelled'];

/** Percent of users in the canary cohort for percentage, gradual and A/B canaries (the seed's 1–50 %). */
export const MIN_CANARY_PERCENTAGE = 1;
export const MAX_CANARY_PERCENTAGE = 50;
/** The seed's monitoring duration. */
export const MIN_MONITORING_HOURS = 1;
export const MAX_MONITORING_HOURS = 168;
export const MAX_STAGES = 10;
export const MAX_TARGET_USERS = 10_000;

/**
 * The seed's criteria. Rates are fractions in (0, 1); `maxResponseTimeMs` makes requests slower than it (rounded up
 * to a bound of the outcome latency histogram) the bad events of a metric of their own.
 */
export interface CanaryCriteria {
  minSuccessRate?: number;
  maxErrorRate?: number;
  maxResponseTimeMs?: number;
}
export const CRITERIA_KEYS: readonly (keyof CanaryCriteria)[] = ['minSuccessRate', 'maxErrorRate', 'maxResponseTimeMs'];

/** One stage of the plan: the share of users in the canary cohort, held at least this long. */
export interface CanaryStage {
  /** Percent for percentage, gradual and A/B canaries; absent for user lists and environments (the whole cohort). */
  percentage?: number;
  /** Minimum time at this stage before it may advance (or promote, for the last one); fractions allowed. */
  minDurationMinutes: number;
}

/**
 * What the judge tests, fixed when the canary is created (research §3): the false-rollback bound α split
 * (Bonferroni) across the regression tests, the certificate's level, and the ratio it certifies against.
 */
export interface JudgeConfig {
  /** P(any automatic rollback of a canary that is no worse than its baseline), for any look cadence and length. */
  alpha: number;
  /** P(certifying SAFE a canary that is `tolerance`× worse or more). */
  safeAlpha: number;
  /** The certificate says: the canary's bad-event rate is below `tolerance` × the baseline's. */
  tolerance: number;
  /** Rollback criteria: slow requests (latency above this histogram bound) are a relative metric. */
  slowMs?: number;
  /** Success criteria's slow bound, certified like the error metric. */
  safeSlowMs?: number;
  /** Rollback criteria: the canary's own error rate credibly above this rolls back. */
  maxErrorRate?: number;
  /** Success criteria: promotion needs the canary's own error rate credibly below this. */
  safeMaxErrorRate?: number;
}

export const REGRESSION_ACTIONS = ['rollback', 'pause'] as const;
export type RegressionAction = (typeof REGRESSION_ACTIONS)[number];
export const INCONCLUSIVE_ACTIONS = ['hold', 'rollback'] as const;
export type InconclusiveAction = (typeof INCONCLUSIVE_ACTIONS)[number];

export interface CanaryPolicy {
  /** REGRESSION rolls back (default) or pauses for an operator. */
  onRegression: RegressionAction;
  /** No certificate by the deadline holds (default) or rolls back (LaunchDarkly's revert on starvation; opt-in). */
  onInconclusive: InconclusiveAction;
  /** Promote by itself once the last stage is certified; otherwise wait for an operator's promote. */
  autoPromote: boolean;
  /** Canary-cohort requests a stage needs before it may advance. */
  minRequests: number;
}

/**
 * Which outcome cohorts are compared: `rg.obs.<env>.<flag>` batches, the canary variant in the canary
 * environments against the baseline variant in the baseline environments (`*`: any environment).
 */
export interface CohortSelector {
  canaryVariant: string;
  baselineVariant: string;
  canaryEnvironments: string[];
  baselineEnvironments: string[] | '*';
}

/** A canary as created: the seed's fields, its plan, its judge and its policy. */
export interface CanaryDefinition {
  id: string;
  flagKey: string;
  name: string;
  description?: string;
  strategy: CanaryStrategy;
  /** The environment whose rollout the canary changes (environment canaries: every target environment). */
  environment: string;
  /** Environments the canary changes, each restored exactly on rollback. */
  environments: string[];
  targetPercentage?: number;
  targetUsers?: string[];
  stages: CanaryStage[];
  monitoringDurationHours: number;
  successCriteria: CanaryCriteria;
  rollbackCriteria: CanaryCriteria;
  judge: JudgeConfig;
  policy: CanaryPolicy;
  cohorts: CohortSelector;
}

/** Counts of one cohort, summed over the outcome batches of a window (or of the whole canary). */
export interface CohortCounts {
  batches: number;
  exposures: number;
  requests: number;
  errors: number;
  /** Distinct users with at least one error per client window, summed: the unit of the relative error test. */
  errorUnits: number;
  /** A batch's distinct-user count hit the SDK's cap (then a lower bound). */
  errorUnitsCapped: boolean;
  /** Requests with a latency, and those above the rollback and success slow bounds. */
  timed: number;
  slow: number;
  safeSlow: number;
  latencyBuckets: number[];
  latencySumMs: number;
}

/** Log likelihood ratios per alternative, per metric: what a batch adds to each test. Sums are folded. */
export interface TestIncrements {
  errors: number[];
  slow?: number[];
  errorRate?: number[];
}

export interface JudgeIncrements {
  regression: TestIncrements;
  safety: TestIncrements;
}

export type MetricName = keyof TestIncrements;

/** One test's standing: log of its e-value (mixture likelihood ratio) and the level it must reach. */
export interface TestStanding {
  metric: MetricName;
  test: 'regression' | 'safety';
  logE: number;
  /** ln(k/α) for the regression tests (k of them), ln(1/safeAlpha) for the certificates. */
  threshold: number;
  crossed: boolean;
}

/** What each decision event carries so it can be audited, replayed and explained. */
export interface DecisionEvidence {
  at: string;
  tests: TestStanding[];
  canary: CohortCounts;
  baseline: CohortCounts;
  windows: number;
  lastWindow?: { start: string; end: string };
  stage: number;
}

/** The flag's state before the canary changed it: what a rollback restores, environment by environment. */
export interface PriorFlagState {
  flagVersion: number;
  /** null: the environment did not exist (a rollback removes it again). */
  environments: Record<string, EnvironmentConfig | null>;
}

export type FlagStep = `stage-${number}` | 'promote' | 'restore';

export type RollbackCause = 'regression' | 'inconclusive' | 'manual' | 'rollback_service' | 'aborted';

/** One flags command a canary step sends, and what it did. */
export interface FlagChange {
  environment: string;
  verb: 'configure-environment' | 'remove-environment';
  /** Derived from the canary, the step and the environment: a resend after a crash is the flags service's duplicate. */
  commandId: string;
  version: number;
  appended: number;
  duplicate: boolean;
}

/** A window of outcome batches, as recorded: counts per cohort and what they added to every test. */
export interface CanaryWindow {
  start: string;
  end: string;
  canary: CohortCounts;
  baseline: CohortCounts;
  increments: JudgeIncrements;
}

export interface CanaryTotals {
  canary: CohortCounts;
  baseline: CohortCounts;
  increments: JudgeIncrements;
  windows: number;
}

export interface CanaryRollback {
  cause: RollbackCause;
  by: string;
  reason?: string;
  requestedAt: string;
  /** `rg.cmd.rollback.trigger` answered: the rollback service runs an execution for this decision. */
  triggeredAt?: string;
  executionId?: string;
  /** The trigger failed (no rollback service, a refusal): the canary restores the flag itself. */
  triggerError?: { code: string; message: string };
  /** Who ended the canary while the rollback service ran (its end_canary step, or an operator). */
  endedBy?: string;
}

/** A canary as its events leave it: what `get` answers and the read model stores. */
export interface CanaryState extends CanaryDefinition {
  status: CanaryStatus;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  startedAt?: string;
  startedBy?: string;
  endedAt?: string;
  prior?: PriorFlagState;
  /** Index of the current stage. */
  stage: number;
  /** When the current stage's flag change was applied; its minimum duration counts from here. */
  stageStartedAt?: string;
  /** Steps whose flag change has been applied. */
  appliedSteps: FlagStep[];
  lastFlagVersion?: number;
  totals: CanaryTotals;
  /** Counts since the current stage was applied (its minimum exposure). */
  stageTotals: { canary: CohortCounts; baseline: CohortCounts };
  lastWindow?: CanaryWindow;
  /** When every certificate first held (it holds from then on: stopping at a crossing is valid). */
  certifiedAt?: string;
  regression?: { decisionId: string; metric: MetricName; at: string; action: RegressionAction };
  inconclusiveAt?: string;
  /** An operator's pause in force (`paused` without a regression): who, when, why. */
  hold?: { by: string; at: string; reason?: string };
  /** Time spent in operator pauses that ended: the deadline moves by it. */
  pausedMs?: number;
  promotion?: { by: string; automatic: boolean; override: boolean; at: string; reason?: string };
  rollback?: CanaryRollback;
  startError?: { code: string; message: string };
}
