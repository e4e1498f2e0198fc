import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { KEY_PATTERN, keyMessage } from '../keys.js';
import {
  CANARY_STRATEGIES,
  INCONCLUSIVE_ACTIONS,
  MAX_MONITORING_HOURS,
  MAX_STAGES,
  MAX_TARGET_USERS,
  MIN_MONITORING_HOURS,
  REGRESSION_ACTIONS,
  type CanaryCriteria,
  type CanaryState,
  type CanaryStrategy,
  type InconclusiveAction,
  type RegressionAction,
} from './canary.model.js';

/**
 * Command payloads of `rg.cmd.canary.<verb>`: shapes and ranges here (class-validator, on the bus and behind the
 * gateway alike), the plan as a whole (criteria keys and values, stages, the strategy against the flag) by the
 * service's planner.
 */
export const CANARY_COMMANDS = {
  create: 'create',
  start: 'start',
  promote: 'promote',
  rollback: 'rollback',
  /** Stop a canary: a created one is cancelled, a running one restores its flag and ends cancelled. */
  abort: 'abort',
  /** Hold a running canary where it is: no decisions, its stage clock and deadline stop (Argo Rollouts' pause). */
  pause: 'pause',
  /** Go on with a paused canary from where it stood. */
  resume: 'resume',
  /** The rollback service's `end_canary` step (libs/contracts rollback): rolled_back or aborted. */
  end: 'end',
} as const;

/** Canary ids are keys short enough that derived flag command ids (`canary:<id>:<step>:<env>`) fit 200 characters. */
export const CANARY_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const idMessage = (field: string): string => `${field} must match ${CANARY_ID_PATTERN.source}`;

export class CreateCanaryPayload {
  /** Default: derived from the command id, so a repeated create lands on the same stream. */
  @IsOptional()
  @Matches(CANARY_ID_PATTERN, { message: idMessage('id') })
  id?: string;

  @Matches(KEY_PATTERN, { message: keyMessage('flagKey') })
  flagKey!: string;

  @IsString()
  @Length(1, 200)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(2_000)
  description?: string;

  @IsIn(CANARY_STRATEGIES)
  strategy!: CanaryStrategy;

  /** The environment whose rollout the canary changes; default production. */
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('environment') })
  environment?: string;

  /** Percent (1–50) of users in the canary cohort: percentage and A/B; the last stage of a default gradual plan. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  targetPercentage?: number;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_TARGET_USERS)
  @ArrayUnique()
  @IsString({ each: true })
  @Length(1, 256, { each: true })
  targetUsers?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: keyMessage('each of targetEnvironments') })
  targetEnvironments?: string[];

  /** `[{ percentage, minDurationMinutes }]`, checked by the planner (a nested class would need reflect-metadata in every client). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_STAGES)
  stages?: unknown[];

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(MIN_MONITORING_HOURS)
  @Max(MAX_MONITORING_HOURS)
  monitoringDurationHours?: number;

  /** Minimum time before a one-stage canary may promote; default its monitoring duration. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_MONITORING_HOURS * 60)
  minDurationMinutes?: number;

  @IsOptional()
  @IsObject()
  successCriteria?: CanaryCriteria;

  @IsOptional()
  @IsObject()
  rollbackCriteria?: CanaryCriteria;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.0001)
  @Max(0.2)
  alpha?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.0001)
  @Max(0.5)
  safeAlpha?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(1.05)
  @Max(10)
  tolerance?: number;

  @IsOptional()
  @IsIn(REGRESSION_ACTIONS)
  onRegression?: RegressionAction;

  @IsOptional()
  @IsIn(INCONCLUSIVE_ACTIONS)
  onInconclusive?: InconclusiveAction;

  @IsOptional()
  @IsBoolean()
  autoPromote?: boolean;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  minRequests?: number;

  /** A/B: the variant under test (default the one that is not the baseline). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  canaryVariant?: string;

  /** A/B: the variant compared against (default the flag's off variant, else its first). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  baselineVariant?: string;
}

abstract class CanaryTarget {
  @Matches(CANARY_ID_PATTERN, { message: idMessage('id') })
  id!: string;
}

export class StartCanaryPayload extends CanaryTarget {
  /** The seed's `started_by`, as given (the authenticated actor is the envelope's). */
  @IsOptional()
  @IsString()
  @Length(1, 200)
  startedBy?: string;
}

/** Exactly one of `id` and `flagKey` (the flag's active canary: POST /feature-flags/{id}/promote). */
export class PromoteCanaryPayload {
  @ValidateIf((payload: PromoteCanaryPayload) => payload.flagKey === undefined)
  @Matches(CANARY_ID_PATTERN, { message: idMessage('id') })
  id?: string;

  @ValidateIf((payload: PromoteCanaryPayload) => payload.id === undefined)
  @Matches(KEY_PATTERN, { message: keyMessage('flagKey') })
  flagKey?: string;

  /** Promote without the SAFE certificate (recorded in the log with the actor). */
  @IsOptional()
  @IsBoolean()
  override?: boolean;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  promotedBy?: string;
}

export class RollbackCanaryPayload extends CanaryTarget {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  rolledBackBy?: string;
}

export class AbortCanaryPayload extends CanaryTarget {}

export class PauseCanaryPayload extends CanaryTarget {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  pausedBy?: string;
}

export class ResumeCanaryPayload extends CanaryTarget {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  resumedBy?: string;
}

/** `rg.cmd.canary.end`, as the rollback service's end_canary step sends it. */
export class EndCanaryPayload {
  @Matches(CANARY_ID_PATTERN, { message: idMessage('canaryId') })
  canaryId!: string;

  @IsOptional()
  @IsIn(['rolled_back', 'aborted'])
  outcome?: 'rolled_back' | 'aborted';
}

/** What every canary command replies with: the canary as it stands, and whether the command id repeated. */
export interface CanaryCommandResult {
  canary: CanaryState;
  duplicate: boolean;
}

/**
 * The body of `rg.cmd.rollback.trigger` as the canary sends it on a regression decision (the rollback service's
 * TriggerPayload). No `flagKey`: without a plan the rollback service would switch the flag off everywhere; with
 * `end_canary` the canary restores exactly its pre-canary state.
 */
export interface CanaryRollbackTrigger {
  source: 'canary_decision';
  canaryId: string;
  decisionId: string;
  decision: 'regression';
  evidence?: Record<string, unknown>;
}
