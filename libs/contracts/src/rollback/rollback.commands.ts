import { ArrayMaxSize, ArrayUnique, IsArray, IsIn, IsISO8601, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, IsInt } from 'class-validator';
import { KEY_PATTERN, keyMessage } from '../keys.js';
import { MAX_VERSION } from '../flags/flag.commands.js';
import { ROLLBACK_SCOPES, type OnFailure, type RollbackCriteria, type RollbackScope, type RollbackType, type StepDefinition } from './rollback.model.js';

/**
 * Command payloads of `rg.cmd.rollback.<verb>`: the shape is checked here, the plan and its steps in full by the
 * service's validation (step kinds, configs, traffic before capacity).
 */
export const ROLLBACK_COMMANDS = {
  createPlan: 'create-plan',
  updatePlan: 'update-plan',
  archivePlan: 'archive-plan',
  /** The seed's execute_rollback(plan_id, executed_by, reason); `scheduledAt` makes it a scheduled rollback. */
  execute: 'execute',
  /** The seed's emergency_rollback(target_id, scope, executed_by, reason): no plan, default steps per scope. */
  emergency: 'emergency',
  /** The seed's rollback_feature_flag(flag_id, rolled_back_by, reason): a manual execution of the flag defaults. */
  rollbackFlag: 'rollback-flag',
  cancel: 'cancel',
  /** An automatic trigger from another service (a canary's regression decision); idempotent by decision id. */
  trigger: 'trigger',
} as const;

/** A plan as written by its author (the service assigns version and archived). */
export interface PlanInput {
  /** A key; derived from the command id when absent. */
  id?: string;
  name: string;
  description?: string;
  rollbackType: RollbackType;
  scope: RollbackScope;
  targetId: string;
  steps: StepDefinition[];
  criteria?: RollbackCriteria;
  onFailure?: OnFailure;
}

export class CreatePlanPayload {
  @IsObject()
  plan!: PlanInput;
}

export class UpdatePlanPayload {
  @Matches(KEY_PATTERN, { message: keyMessage('id') })
  id!: string;

  @IsObject()
  changes!: Partial<Omit<PlanInput, 'id'>>;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_VERSION)
  expectedVersion?: number;
}

export class ArchivePlanPayload {
  @Matches(KEY_PATTERN, { message: keyMessage('id') })
  id!: string;
}

export class ExecutePlanPayload {
  @Matches(KEY_PATTERN, { message: keyMessage('planId') })
  planId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  executedBy?: string;

  /** Fire at this time (a durable timer); absent: now. */
  @IsOptional()
  @IsISO8601({ strict: true })
  scheduledAt?: string;
}

export class EmergencyPayload {
  @IsIn(ROLLBACK_SCOPES)
  scope!: RollbackScope;

  @Matches(KEY_PATTERN, { message: keyMessage('targetId') })
  targetId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  executedBy?: string;

  /** environment and system_wide: restore to this time instead of switching every flag off. */
  @IsOptional()
  @IsISO8601({ strict: true })
  asOf?: string;

  /** feature_flag and user_group: only these environments (default: all). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @Matches(KEY_PATTERN, { each: true, message: keyMessage('each of environments') })
  environments?: string[];
}

export class RollbackFlagPayload {
  @Matches(KEY_PATTERN, { message: keyMessage('key') })
  key!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  executedBy?: string;
}

export class CancelExecutionPayload {
  @Matches(KEY_PATTERN, { message: keyMessage('executionId') })
  executionId!: string;
}

/** `rg.cmd.rollback.trigger`: the trigger contract for automatic rollbacks decided elsewhere. */
export class TriggerPayload {
  @IsIn(['canary_decision'])
  source!: 'canary_decision';

  @Matches(KEY_PATTERN, { message: keyMessage('canaryId') })
  canaryId!: string;

  /** The decision's event id: one decision triggers at most one execution. */
  @IsString()
  @MaxLength(200)
  decisionId!: string;

  @IsIn(['regression'])
  decision!: 'regression';

  /** The canary's flag: disabled when no automatic plan targets the canary. */
  @IsOptional()
  @Matches(KEY_PATTERN, { message: keyMessage('flagKey') })
  flagKey?: string;

  @IsOptional()
  @IsObject()
  evidence?: Record<string, unknown>;
}

/** What every execution command replies with: the execution as it stands, and whether the command id repeated. */
export interface ExecutionCommandResult {
  executionId: string;
  duplicate: boolean;
}
