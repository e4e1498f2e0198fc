import { bucketPrefix, bucketWithPrefix, variantSalt } from './bucketing.js';
import { compileConditions, type Matcher } from './condition.js';
import type {
  EvaluationContext, EvaluationErrorCode, EvaluationResult, FlagDefinition, FlagType, JsonValue, Reason, Rule, Segment,
} from './flag.model.js';
import { PPM_MAX } from './flag.model.js';
import { FlagValidationError } from './evaluation.errors.js';
import { validateFlag } from './flag.validation.js';
import type { Murmur3State } from './murmur3.js';
import { CompiledRollout, compileRollout, DEFAULT_STICKINESS, unitOf } from './rollout.js';

export type SegmentLookup = ReadonlyMap<string, Segment> | readonly Segment[];

/** Every result has all six keys, so results share one hidden class and JSON drops the undefined ones. */
export function makeResult<T>(
  value: T, variant: string | undefined, reason: Reason, flagVersion: number | undefined,
  ruleId?: string, errorCode?: EvaluationErrorCode,
): EvaluationResult<T> {
  return Object.freeze({ value, variant, reason, flagVersion, ruleId, errorCode });
}

// Boolean results are the same few values across thousands of flags (mostly version 1, rule ids
// like "r1"): interning them keeps 10 000 compiled flags near the size of their definitions.
const INTERN_LIMIT = 50_000;
const interned = new Map<string, EvaluationResult>();

function booleanResult(value: boolean, reason: Reason, version: number, ruleId?: string): EvaluationResult {
  const key = `${value ? 1 : 0}|${reason}|${version}|${ruleId ?? ''}`;
  let result = interned.get(key);
  if (result === undefined) {
    result = makeResult(value, value ? 'on' : 'off', reason, version, ruleId);
    if (interned.size < INTERN_LIMIT) interned.set(key, result);
  }
  return result;
}

/**
 * What a matched rule or the default rollout serves to exposed units: one fixed result, or a weighted
 * split over variants (`thresholds[i]` = cumulative ppm upper bound of variant i).
 */
class Serve {
  constructor(
    readonly fixed: EvaluationResult | null,
    readonly split: readonly EvaluationResult[] | null,
    readonly thresholds: Int32Array | null,
  ) {}
}

const fixedServes = new WeakMap<EvaluationResult, Serve>();

/** Interned boolean results get interned serves. */
function fixedServe(result: EvaluationResult): Serve {
  let serve = fixedServes.get(result);
  if (serve === undefined) {
    serve = new Serve(result, null, null);
    fixedServes.set(result, serve);
  }
  return serve;
}

const NO_KEYS: readonly string[] = Object.freeze([]);
const NO_RULES: readonly CompiledRule[] = Object.freeze([]);

class CompiledRule {
  constructor(
    readonly match: Matcher | undefined,
    readonly rollout: CompiledRollout,
    readonly serve: Serve,
  ) {}
}

/**
 * A flag ready for one environment: everything derivable from the definition is computed here, so
 * `resolve` only reads attributes, hashes the unit and returns one of the prebuilt frozen results.
 */
export class CompiledFlag {
  constructor(
    readonly key: string,
    readonly version: number,
    readonly type: FlagType,
    /** Set when the outcome is the same for every context (kill switch, no rules, all/none rollout). */
    readonly staticResult: EvaluationResult | null,
    readonly prefix: Murmur3State,
    readonly rules: readonly CompiledRule[],
    readonly defaultRollout: CompiledRollout,
    readonly defaultServe: Serve,
    readonly offResult: EvaluationResult,
    readonly offVariant: string | undefined,
    readonly variantPrefix: Murmur3State | null,
    readonly variantAttribute: string,
    /** Segment keys the flag's rules reference; the engine recompiles the flag when one changes. */
    readonly segmentKeys: readonly string[],
  ) {}

  /**
   * The flag's own outcome. A result whose `value` is undefined means "the caller's default" (an
   * experiment flag that is off and has no off variant); the engine substitutes it.
   */
  resolve(context: EvaluationContext, now: number | undefined, clock: () => number): EvaluationResult {
    if (this.staticResult !== null) return this.staticResult;
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.match !== undefined && !rule.match(context)) continue;
      if (!rule.rollout.includes(context, this.prefix, now, clock)) continue;
      return this.serve(rule.serve, context);
    }
    return this.defaultRollout.includes(context, this.prefix, now, clock) ? this.serve(this.defaultServe, context) : this.offResult;
  }

  /** On means: a boolean-kind flag serving true, or an experiment serving a variant other than the off one. */
  isOn(result: EvaluationResult): boolean {
    if (this.type !== 'experiment') return result.value === true;
    return result.variant !== undefined && result.variant !== this.offVariant && result.reason !== 'DISABLED';
  }

  private serve(serve: Serve, context: EvaluationContext): EvaluationResult {
    if (serve.fixed !== null) return serve.fixed;
    const unit = unitOf(context, this.variantAttribute);
    if (unit === undefined) return this.offResult;
    const bucket = bucketWithPrefix(this.variantPrefix!, unit);
    const thresholds = serve.thresholds!;
    for (let i = 0; i < thresholds.length; i++) if (bucket < thresholds[i]!) return serve.split![i]!;
    return serve.split![serve.split!.length - 1]!;
  }
}

function segmentMap(segments: SegmentLookup): ReadonlyMap<string, Segment> {
  if (segments instanceof Map) return segments;
  return new Map((segments as readonly Segment[]).map((s) => [s.key, s]));
}

/** Cumulative ppm bounds: variant i serves buckets in [thresholds[i-1], thresholds[i]). */
export function variantThresholds(weights: readonly number[]): Int32Array {
  const total = weights.reduce((sum, w) => sum + w, 0);
  const thresholds = new Int32Array(weights.length);
  let cumulative = 0;
  for (let i = 0; i < weights.length; i++) {
    cumulative += weights[i]!;
    thresholds[i] = i === weights.length - 1 ? PPM_MAX : Math.floor((cumulative * PPM_MAX) / total);
  }
  return thresholds;
}

/**
 * Compiles a definition for one environment. Throws FlagValidationError when `validateFlag` finds
 * problems (including references to segments not in `segments`); evaluation itself never throws.
 */
export function compileFlag(definition: FlagDefinition, segments: SegmentLookup, environment: string): CompiledFlag {
  const bySegment = segmentMap(segments);
  const problems = validateFlag(definition, bySegment);
  if (problems.length > 0) throw new FlagValidationError(definition.key, problems);

  const { key, version, type } = definition;
  const salt = definition.salt ?? key;
  const prefix = bucketPrefix(salt);
  const isExperiment = type === 'experiment';
  const variants = isExperiment ? definition.variants ?? [] : [];
  const variantPrefix = isExperiment ? bucketPrefix(variantSalt(salt)) : null;
  const offVariant = isExperiment ? definition.offVariant : 'off';

  const variantResult = (variantKey: string | undefined, reason: Reason, ruleId?: string): EvaluationResult => {
    const variant = variants.find((v) => v.key === variantKey);
    return variant === undefined
      ? makeResult(undefined as unknown as JsonValue, undefined, reason, version, ruleId)
      : makeResult(variant.payload ?? null, variant.key, reason, version, ruleId);
  };
  const off = (reason: Reason, ruleId?: string): EvaluationResult =>
    isExperiment ? variantResult(offVariant, reason, ruleId) : booleanResult(false, reason, version, ruleId);
  const on = (reason: Reason, ruleId: string | undefined, forced: string | undefined): Serve => {
    if (!isExperiment) return fixedServe(booleanResult(true, reason, version, ruleId));
    if (forced !== undefined) return new Serve(variantResult(forced, reason, ruleId), null, null);
    const split = variants.map((v) => variantResult(v.key, 'SPLIT', ruleId));
    if (split.length === 1) return new Serve(split[0]!, null, null);
    return new Serve(null, split, variantThresholds(variants.map((v) => v.weight)));
  };

  const config = definition.environments[environment];
  const referenced = [...new Set((config?.rules ?? []).flatMap((r) => r.segments ?? []))];
  const segmentKeys = referenced.length === 0 ? NO_KEYS : referenced;
  const build = (staticResult: EvaluationResult | null, rules: readonly CompiledRule[], rollout: CompiledRollout, serve: Serve, offResult: EvaluationResult) =>
    new CompiledFlag(key, version, type, staticResult, prefix, rules, rollout, serve, offResult, offVariant, variantPrefix,
      definition.stickiness ?? DEFAULT_STICKINESS, segmentKeys);

  if (definition.archived === true || config === undefined || !config.enabled) {
    const disabled = off('DISABLED');
    return build(disabled, NO_RULES, compileRollout({ type: 'none' }, environment), new Serve(disabled, null, null), disabled);
  }

  const compiledRules = (config.rules ?? []).map((rule) => compileRule(rule, bySegment, environment, on));
  const rules = compiledRules.length === 0 ? NO_RULES : compiledRules;
  const rollout = compileRollout(config.defaultRollout, environment);
  const noRules = rules.length === 0;
  const constant = rollout.kind === 0 || rollout.kind === 1;
  const decided: Reason = noRules && constant ? 'STATIC' : 'DEFAULT';
  const inReason: Reason = rollout.isSplit ? 'SPLIT' : config.defaultRollout.type === 'user_list' ? 'TARGETING_MATCH' : decided;
  const outReason: Reason = rollout.isSplit ? 'SPLIT' : decided;
  const serve = on(inReason, undefined, undefined);
  const offResult = off(outReason);

  // A constant rollout with no rules is static unless an experiment still has to split by unit.
  let staticResult: EvaluationResult | null = null;
  if (noRules && rollout.kind === 1) staticResult = offResult;
  if (noRules && rollout.kind === 0 && serve.fixed !== null) staticResult = serve.fixed;
  return build(staticResult, rules, rollout, serve, offResult);
}

function compileRule(
  rule: Rule, segments: ReadonlyMap<string, Segment>, environment: string,
  on: (reason: Reason, ruleId: string | undefined, forced: string | undefined) => Serve,
): CompiledRule {
  const conditions = [...(rule.conditions ?? []), ...(rule.segments ?? []).flatMap((k) => segments.get(k)!.conditions)];
  const forced = rule.variant;
  return new CompiledRule(
    compileConditions(conditions),
    compileRollout(rule.rollout ?? { type: 'all_users' }, environment),
    on('TARGETING_MATCH', rule.id, forced),
  );
}
