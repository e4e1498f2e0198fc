import { CompiledFlag, compileFlag, makeResult } from './compile-flag.js';
import { EnvironmentMismatchError, FlagValidationError } from './evaluation.errors.js';
import type {
  EnvironmentSnapshot, EvaluationContext, EvaluationErrorCode, EvaluationResult, FlagDefinition, JsonValue, Segment,
} from './flag.model.js';
import { validateSegment, type ValidationProblem } from './flag.validation.js';

export interface EngineOptions {
  /** Clock for gradual rollouts when `evaluate` gets no `now`; defaults to Date.now. */
  clock?: () => number;
}

export interface LoadReport {
  loaded: number;
  /** Flags and segments left out of the snapshot because they failed validation. */
  rejected: Array<{ key: string; problems: readonly ValidationProblem[] }>;
}

const EMPTY_CONTEXT: EvaluationContext = Object.freeze({});

function isContext(context: unknown): context is EvaluationContext {
  return typeof context === 'object' && context !== null && !Array.isArray(context);
}

/** The caller's default with reason ERROR; the flag is known, so its version and metadata come along. */
function failed<T>(flag: CompiledFlag, defaultValue: T, code: EvaluationErrorCode): EvaluationResult<T> {
  return makeResult(defaultValue, undefined, 'ERROR', flag.version, undefined, code, flag.offResult.metadata);
}

/** A result that serves "the caller's default" (an experiment off without an off variant), with that default. */
const withValue = (result: EvaluationResult, value: JsonValue): EvaluationResult =>
  makeResult(value, undefined, result.reason, result.flagVersion, result.ruleId, undefined, result.metadata);

const asStale = (result: EvaluationResult): EvaluationResult =>
  makeResult(result.value, result.variant, 'STALE', result.flagVersion, result.ruleId, undefined, result.metadata);

function typeOf(value: unknown): string {
  return value === null || Array.isArray(value) ? 'object' : typeof value;
}

/**
 * The compiled flags of one environment, keyed by flag key: what the SDK and the flags service
 * evaluate against. Mutated only through `load`, `upsert*` and `remove*`; evaluation never throws.
 */
export class EvaluationEngine {
  private flags = new Map<string, CompiledFlag>();
  private segments = new Map<string, Segment>();
  // Only definitions that reference segments are kept, so a segment change can recompile them.
  private segmentUsers = new Map<string, FlagDefinition>();
  private stale = false;
  private revisionValue = 0;
  private readonly clock: () => number;

  constructor(
    readonly environment: string,
    options: EngineOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.flags.size;
  }

  has(key: string): boolean {
    return this.flags.has(key);
  }

  /**
   * The compiled flag held for a key, or undefined. With {@link evaluateFlag} and {@link isEnabledFlag} a caller
   * can look a flag up once and keep it (the SDK does, next to its exposure counters) until {@link revision}
   * moves on.
   */
  lookup(key: string): CompiledFlag | undefined {
    return this.flags.get(key);
  }

  /**
   * Increases whenever a compiled flag may have been replaced or removed (`load`, `upsert*`, `remove*`): a flag
   * kept from `lookup` is still the one held while the revision is unchanged. Staleness does not count here;
   * it is applied at evaluation time.
   */
  get revision(): number {
    return this.revisionValue;
  }

  keys(): IterableIterator<string> {
    return this.flags.keys();
  }

  /** The compiled flag's version, or undefined when unknown. */
  versionOf(key: string): number | undefined {
    return this.flags.get(key)?.version;
  }

  /** Compiles and stores (or replaces) a flag. Throws FlagValidationError; the old version stays then. */
  upsert(definition: FlagDefinition): void {
    const compiled = compileFlag(definition, this.segments, this.environment);
    this.revisionValue++;
    this.flags.set(definition.key, compiled);
    if (compiled.segmentKeys.length > 0) this.segmentUsers.set(definition.key, definition);
    else this.segmentUsers.delete(definition.key);
  }

  remove(key: string): boolean {
    this.revisionValue++;
    this.segmentUsers.delete(key);
    return this.flags.delete(key);
  }

  /** Stores a segment and recompiles the flags that use it. */
  upsertSegment(segment: Segment): void {
    const problems = validateSegment(segment);
    if (problems.length > 0) throw new FlagValidationError(String((segment as { key?: unknown }).key), problems);
    this.segments.set(segment.key, segment);
    this.revisionValue++;
    for (const definition of this.segmentUsers.values()) {
      if (definition.environments[this.environment]?.rules?.some((r) => r.segments?.includes(segment.key))) this.upsert(definition);
    }
  }

  /** Refuses while a stored flag still references the segment. */
  removeSegment(key: string): boolean {
    const user = [...this.segmentUsers.values()].find((d) => this.flags.get(d.key)?.segmentKeys.includes(key));
    if (user !== undefined) {
      throw new FlagValidationError(user.key, [{ path: 'segments', message: `segment ${JSON.stringify(key)} is still referenced` }]);
    }
    this.revisionValue++;
    return this.segments.delete(key);
  }

  /**
   * Replaces everything with a snapshot. Invalid flags or segments are left out and reported rather
   * than failing the whole load: one bad definition must not take every flag down with it.
   */
  load(snapshot: EnvironmentSnapshot): LoadReport {
    if (snapshot.environment !== this.environment) throw new EnvironmentMismatchError(this.environment, snapshot.environment);
    const rejected: LoadReport['rejected'] = [];
    const segments = new Map<string, Segment>();
    for (const segment of snapshot.segments ?? []) {
      const problems = validateSegment(segment);
      if (problems.length > 0) rejected.push({ key: String(segment?.key), problems });
      else segments.set(segment.key, segment);
    }
    const flags = new Map<string, CompiledFlag>();
    const segmentUsers = new Map<string, FlagDefinition>();
    for (const definition of snapshot.flags) {
      try {
        const compiled = compileFlag(definition, segments, this.environment);
        flags.set(definition.key, compiled);
        if (compiled.segmentKeys.length > 0) segmentUsers.set(definition.key, definition);
      } catch (error) {
        if (!(error instanceof FlagValidationError)) throw error;
        rejected.push({ key: String(definition?.key), problems: error.problems });
      }
    }
    this.revisionValue++;
    this.flags = flags;
    this.segments = segments;
    this.segmentUsers = segmentUsers;
    return { loaded: flags.size, rejected };
  }

  /**
   * While stale (the SDK lost its feed), successful results carry reason STALE instead of their own,
   * so callers can tell the answer may be outdated.
   */
  setStale(stale: boolean): void {
    this.stale = stale;
  }

  /**
   * Evaluates a flag for a context. Never throws: an unknown flag, a context that is not an object, a
   * default of another type than the flag serves, or an internal failure give the caller's default
   * with reason ERROR and an error code. `now` (epoch ms) drives gradual rollouts.
   */
  evaluate<T extends JsonValue>(key: string, context: EvaluationContext, defaultValue: T, now?: number): EvaluationResult<T> {
    const flag = this.flags.get(key);
    if (flag === undefined) return makeResult(defaultValue, undefined, 'ERROR', undefined, undefined, 'FLAG_NOT_FOUND');
    return this.evaluateFlag(flag, context, defaultValue, now);
  }

  /** True when the flag is on for the context (see CompiledFlag.isOn); false for unknown flags and errors. */
  isEnabled(key: string, context: EvaluationContext, now?: number): boolean {
    const flag = this.flags.get(key);
    return flag !== undefined && this.isEnabledFlag(flag, context, now);
  }

  /**
   * `evaluate` for a flag already looked up (see {@link lookup}): the same result, reasons and error codes, minus
   * FLAG_NOT_FOUND. The flag should be one this engine holds, or held until it changed (its old version then).
   */
  evaluateFlag<T extends JsonValue>(flag: CompiledFlag, context: EvaluationContext, defaultValue: T, now?: number): EvaluationResult<T> {
    // Small on purpose: V8 inlines it into callers only within a bytecode budget, so the rare paths are functions.
    if (!isContext(context)) {
      if (context !== undefined && context !== null) return failed(flag, defaultValue, 'INVALID_CONTEXT');
      context = EMPTY_CONTEXT;
    }
    let result: EvaluationResult;
    try {
      result = flag.resolve(context, now, this.clock);
    } catch {
      return failed(flag, defaultValue, 'GENERAL');
    }
    if (result.value === undefined) result = withValue(result, defaultValue);
    else if (defaultValue !== undefined && typeOf(result.value) !== typeOf(defaultValue)) return failed(flag, defaultValue, 'TYPE_MISMATCH');
    if (this.stale) result = asStale(result);
    return result as EvaluationResult<T>;
  }

  /** `isEnabled` for a flag already looked up (see {@link lookup}). */
  isEnabledFlag(flag: CompiledFlag, context: EvaluationContext, now?: number): boolean {
    if (!isContext(context)) {
      if (context !== undefined && context !== null) return false;
      context = EMPTY_CONTEXT;
    }
    try {
      return flag.isOn(flag.resolve(context, now, this.clock));
    } catch {
      return false;
    }
  }
}
