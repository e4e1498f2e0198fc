import { bucketPrefix, variantSalt } from './bucketing.js';
import { compileCondition, compileConditions, type Matcher } from './condition.js';
import type {
  Condition, EvaluationContext, EvaluationErrorCode, EvaluationResult, FlagDefinition, FlagMetadata, JsonValue, Reason, Rollout, Rule, Segment,
  Variant,
} from './flag.model.js';
import { PPM_MAX } from './flag.model.js';
import { FlagValidationError } from './evaluation.errors.js';
import { validateFlag } from './flag.validation.js';
import {
  bucketIn, CompiledRollout, compileRollout, DEFAULT_STICKINESS, RolloutKind, type SaltPrefix, unitOf,
} from './rollout.js';

export type SegmentLookup = ReadonlyMap<string, Segment> | readonly Segment[];

/** Every result has all seven keys, so results share one hidden class and JSON drops the undefined ones. */
export function makeResult<T>(
  value: T, variant: string | undefined, reason: Reason, flagVersion: number | undefined,
  ruleId?: string, errorCode?: EvaluationErrorCode, metadata?: FlagMetadata,
): EvaluationResult<T> {
  return Object.freeze({ value, variant, reason, flagVersion, ruleId, errorCode, metadata });
}

// Boolean results are the same few values across thousands of flags (mostly version 1, rule ids
// like "r1"): interning them keeps 10 000 compiled flags near the size of their definitions. Looked up
// by rule id, then version, then (reason, value) slot, so no key string is built per compile.
const INTERN_LIMIT = 50_000;
const REASON_SLOTS: Readonly<Record<Reason, number>> = {
  STATIC: 0, TARGETING_MATCH: 1, SPLIT: 2, DISABLED: 3, DEFAULT: 4, STALE: 5, ERROR: 6,
};
const interned = new Map<string, Map<number, Array<EvaluationResult | undefined>>>();
let internedCount = 0;

function booleanResult(value: boolean, reason: Reason, version: number, ruleId: string | undefined, metadata: FlagMetadata | undefined): EvaluationResult {
  // A flag's metadata is its own: its results are not shared with other flags.
  if (metadata !== undefined) return makeResult(value, value ? 'on' : 'off', reason, version, ruleId, undefined, metadata);
  const slot = REASON_SLOTS[reason] * 2 + (value ? 1 : 0);
  let byVersion = interned.get(ruleId ?? '');
  let slots = byVersion?.get(version);
  let result = slots?.[slot];
  if (result === undefined) {
    result = makeResult(value, value ? 'on' : 'off', reason, version, ruleId);
    if (internedCount < INTERN_LIMIT) {
      if (byVersion === undefined) interned.set(ruleId ?? '', (byVersion = new Map()));
      if (slots === undefined) byVersion.set(version, (slots = new Array<EvaluationResult | undefined>(14).fill(undefined)));
      slots[slot] = result;
      internedCount++;
    }
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

/** One step of the decision list: a targeting rule, or the default rollout (no matcher) at the end. */
class CompiledRule {
  constructor(
    readonly match: Matcher | undefined,
    readonly rollout: CompiledRollout,
    readonly serve: Serve,
  ) {}
}

/**
 * What only some flags need, kept off the common shape: experiment data (variant salt prefix, split
 * attribute, off variant) and the segment keys the rules reference. Null for a plain boolean flag.
 */
class FlagExtra implements SaltPrefix {
  constructor(
    readonly experiment: boolean,
    readonly offVariant: string | undefined,
    readonly saltH: number,
    readonly saltK: number,
    readonly saltLen: number,
    readonly variantAttribute: string,
    readonly segmentKeys: readonly string[],
  ) {}
}

/**
 * A flag ready for one environment: everything derivable from the definition is computed here, so
 * `resolve` only reads attributes, hashes the unit and returns one of the prebuilt frozen results.
 *
 * Memory matters (an SDK holds every flag): the definition is not kept, the salt's murmur3 state is
 * three numbers on the flag, and the decision list (rules, then the default rollout) keeps its first
 * step inline, so the common shapes (static, one rule, a default rollout only) need no array or rule
 * object of their own. Results, serves, shared matchers and percentage rollouts are interned.
 */
export class CompiledFlag implements SaltPrefix {
  constructor(
    readonly key: string,
    readonly version: number,
    /** Set when the outcome is the same for every context (kill switch, no rules, all/none rollout). */
    readonly staticResult: EvaluationResult | null,
    readonly saltH: number,
    readonly saltK: number,
    readonly saltLen: number,
    /** The first step of the decision list, inline; rollout NONE when the list is empty. */
    private readonly firstMatch: Matcher | undefined,
    private readonly firstRollout: CompiledRollout,
    private readonly firstServe: Serve,
    /** The other steps, null when there are none. */
    private readonly moreSteps: readonly CompiledRule[] | null,
    /** Served when no step includes the unit. */
    readonly offResult: EvaluationResult,
    private readonly extra: FlagExtra | null,
  ) {}

  /** Segment keys the flag's rules reference; the engine recompiles the flag when one changes. */
  get segmentKeys(): readonly string[] {
    return this.extra === null ? NO_KEYS : this.extra.segmentKeys;
  }

  get isExperiment(): boolean {
    return this.extra !== null && this.extra.experiment;
  }

  /**
   * The flag's own outcome. A result whose `value` is undefined means "the caller's default" (an
   * experiment flag that is off and has no off variant); the engine substitutes it.
   */
  resolve(context: EvaluationContext, now: number | undefined, clock: () => number): EvaluationResult {
    if (this.staticResult !== null) return this.staticResult;
    const match = this.firstMatch;
    if ((match === undefined || match(context)) && this.firstRollout.includes(context, this, now, clock)) {
      return this.serve(this.firstServe, context);
    }
    const more = this.moreSteps;
    if (more !== null) {
      for (let i = 0; i < more.length; i++) {
        const rule = more[i]!;
        if (rule.match !== undefined && !rule.match(context)) continue;
        if (!rule.rollout.includes(context, this, now, clock)) continue;
        return this.serve(rule.serve, context);
      }
    }
    return this.offResult;
  }

  /** On means: a boolean-kind flag serving true, or an experiment serving a variant other than the off one. */
  isOn(result: EvaluationResult): boolean {
    const extra = this.extra;
    if (extra === null || !extra.experiment) return result.value === true;
    return result.variant !== undefined && result.variant !== extra.offVariant && result.reason !== 'DISABLED';
  }

  private serve(serve: Serve, context: EvaluationContext): EvaluationResult {
    if (serve.fixed !== null) return serve.fixed;
    const extra = this.extra!;
    const unit = unitOf(context, extra.variantAttribute);
    if (unit === undefined) return this.offResult;
    const bucket = bucketIn(extra, unit);
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

/** Per-compile state for building results; plain fields rather than closures. */
class ResultBuilder {
  constructor(
    readonly version: number,
    readonly variants: readonly Variant[] | null,
    readonly offVariant: string | undefined,
    readonly metadata: FlagMetadata | undefined,
  ) {}

  variant(variantKey: string | undefined, reason: Reason, ruleId?: string): EvaluationResult {
    const variant = variantKey === undefined ? undefined : this.variants!.find((v) => v.key === variantKey);
    return variant === undefined
      ? makeResult(undefined as unknown as JsonValue, undefined, reason, this.version, ruleId, undefined, this.metadata)
      : makeResult(variant.payload ?? null, variant.key, reason, this.version, ruleId, undefined, this.metadata);
  }

  off(reason: Reason, ruleId?: string): EvaluationResult {
    return this.variants !== null ? this.variant(this.offVariant, reason, ruleId) : booleanResult(false, reason, this.version, ruleId, this.metadata);
  }

  /**
   * `reason` is what serving says when no hash decides: a split over variants is SPLIT, but variants where all the
   * weight is on one (OpenFeature's "default variant") serve it to everyone with `reason`, no hashing.
   */
  on(reason: Reason, ruleId: string | undefined, forced: string | undefined): Serve {
    const variants = this.variants;
    if (variants === null) return fixedServe(booleanResult(true, reason, this.version, ruleId, this.metadata));
    if (forced !== undefined) return new Serve(this.variant(forced, reason, ruleId), null, null);
    const weighted = variants.filter((v) => v.weight > 0);
    if (weighted.length === 1) return new Serve(this.variant(weighted[0]!.key, reason, ruleId), null, null);
    const split = variants.map((v) => this.variant(v.key, 'SPLIT', ruleId));
    if (split.length === 1) return new Serve(split[0]!, null, null);
    return new Serve(null, split, variantThresholds(variants.map((v) => v.weight)));
  }
}

/** Frozen copy, or undefined for none or `{}`: results share it, and callers cannot change the flag through them. */
function metadataOf(definition: FlagDefinition): FlagMetadata | undefined {
  const metadata = definition.metadata;
  if (metadata === undefined || Object.keys(metadata).length === 0) return undefined;
  return Object.freeze({ ...metadata });
}

const NONE_ROLLOUT: Rollout = Object.freeze({ type: 'none' });
const ALL_ROLLOUT: Rollout = Object.freeze({ type: 'all_users' });

function referencedSegments(rules: readonly Rule[] | undefined): readonly string[] {
  if (rules === undefined) return NO_KEYS;
  let keys: string[] | undefined;
  for (const rule of rules) {
    if (rule.segments === undefined) continue;
    for (const key of rule.segments) {
      keys ??= [];
      if (!keys.includes(key)) keys.push(key);
    }
  }
  return keys ?? NO_KEYS;
}

/**
 * Compiles a definition for one environment. Throws FlagValidationError when `validateFlag` finds
 * problems (including references to segments not in `segments`); evaluation itself never throws.
 * Nothing of the definition is retained except strings and literals the compiled form needs.
 */
export function compileFlag(definition: FlagDefinition, segments: SegmentLookup, environment: string): CompiledFlag {
  const bySegment = segmentMap(segments);
  const problems = validateFlag(definition, bySegment);
  if (problems.length > 0) throw new FlagValidationError(definition.key, problems);

  const { key, version } = definition;
  const salt = definition.salt ?? key;
  const prefix = bucketPrefix(salt);
  const isExperiment = definition.type === 'experiment';
  const results = new ResultBuilder(version, isExperiment ? definition.variants ?? [] : null, isExperiment ? definition.offVariant : undefined,
    metadataOf(definition));

  const config = definition.environments[environment];
  const segmentKeys = referencedSegments(config?.rules);
  let extra: FlagExtra | null = null;
  if (isExperiment) {
    const variantPrefix = bucketPrefix(variantSalt(salt));
    extra = new FlagExtra(true, definition.offVariant, variantPrefix.h, variantPrefix.k, variantPrefix.len,
      definition.stickiness ?? DEFAULT_STICKINESS, segmentKeys);
  } else if (segmentKeys.length > 0) {
    extra = new FlagExtra(false, undefined, 0, 0, 0, DEFAULT_STICKINESS, segmentKeys);
  }
  const build = (staticResult: EvaluationResult | null, steps: CompiledRule[], offResult: EvaluationResult): CompiledFlag => {
    const first = steps.length > 0 ? steps[0]! : new CompiledRule(undefined, compileRollout(NONE_ROLLOUT, environment), fixedServe(offResult));
    return new CompiledFlag(key, version, staticResult, prefix.h, prefix.k, prefix.len, first.match, first.rollout, first.serve,
      steps.length > 1 ? steps.slice(1) : null, offResult, extra);
  };

  if (definition.archived === true || config === undefined || !config.enabled) {
    const disabled = results.off('DISABLED');
    return build(disabled, [], disabled);
  }

  const steps: CompiledRule[] = [];
  const rules = config.rules ?? [];
  for (const rule of rules) steps.push(compileRule(rule, bySegment, environment, results));
  const rollout = compileRollout(config.defaultRollout, environment);
  const noRules = rules.length === 0;
  const constant = rollout.kind === RolloutKind.All || rollout.kind === RolloutKind.None;
  const decided: Reason = noRules && constant ? 'STATIC' : 'DEFAULT';
  const inReason: Reason = rollout.isSplit ? 'SPLIT' : config.defaultRollout.type === 'user_list' ? 'TARGETING_MATCH' : decided;
  const outReason: Reason = rollout.isSplit ? 'SPLIT' : decided;
  const serve = results.on(inReason, undefined, undefined);
  const offResult = results.off(outReason);
  // A default rollout that includes nobody adds no step: falling off the list serves offResult anyway.
  if (rollout.kind !== RolloutKind.None) steps.push(new CompiledRule(undefined, rollout, serve));

  // A constant rollout with no rules is static unless an experiment still has to split by unit.
  let staticResult: EvaluationResult | null = null;
  if (noRules && rollout.kind === RolloutKind.None) staticResult = offResult;
  if (noRules && rollout.kind === RolloutKind.All && serve.fixed !== null) staticResult = serve.fixed;
  return build(staticResult, steps, offResult);
}

// A member list of 100 000 ids is one Set, built once per segment object and shared by every rule (and every
// environment's engine) that references it; a changed segment is a new object, so entries never go stale.
const memberships = new WeakMap<Segment, Matcher>();

/** Whether the unit is one of a member list's members (by its `memberAttribute`). */
function membershipOf(segment: Segment & { memberAttribute: string }): Matcher {
  let matcher = memberships.get(segment);
  if (matcher === undefined) {
    matcher = compileCondition({ attribute: segment.memberAttribute, operator: 'in', values: segment.members ?? [] });
    memberships.set(segment, matcher);
  }
  return matcher;
}

function allOf(matchers: readonly Matcher[]): Matcher | undefined {
  if (matchers.length <= 1) return matchers[0];
  return (context) => {
    for (let i = 0; i < matchers.length; i++) if (!matchers[i]!(context)) return false;
    return true;
  };
}

function compileRule(rule: Rule, segments: ReadonlyMap<string, Segment>, environment: string, results: ResultBuilder): CompiledRule {
  let conditions: readonly Condition[] = rule.conditions ?? [];
  const lists: Matcher[] = [];
  if (rule.segments !== undefined && rule.segments.length > 0) {
    const used = rule.segments.map((k) => segments.get(k)!);
    conditions = [...conditions, ...used.flatMap((segment) => segment.conditions)];
    for (const segment of used) {
      if (segment.memberAttribute !== undefined) lists.push(membershipOf(segment as Segment & { memberAttribute: string }));
    }
  }
  const matched = compileConditions(conditions);
  return new CompiledRule(
    allOf(matched === undefined ? lists : [matched, ...lists]),
    compileRollout(rule.rollout ?? ALL_ROLLOUT, environment),
    results.on('TARGETING_MATCH', rule.id, rule.variant),
  );
}
