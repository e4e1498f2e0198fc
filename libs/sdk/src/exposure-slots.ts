import type { CompiledFlag, EvaluationEngine } from '#rollgate/evaluation';
import type { OutcomeAggregator } from './outcome-aggregator.js';

/** Where exposure counts go: the aggregator, or null with `trackExposures: false` (counted, then discarded). */
export type ExposureSink = OutcomeAggregator | null;

/**
 * One flag's exposure counts for the current outcome window, and the compiled flag they belong to: the hot path
 * finds both with one map lookup (the engine is asked again only after it changed, see `revision`). The window
 * flush adds the counts to the aggregator and resets them; a slot idle for a whole window is dropped, and a slot
 * whose flag was removed hands its counts to the aggregator's current window when that is noticed (or at the flush).
 * With `trackExposures: false` the counts are discarded at the flush.
 */
export class ExposureSlot {
  on = 0;
  off = 0;
  /** Other variants (experiments' variant keys through `evaluate`, `default`); null until one is counted. */
  others: OtherVariants | null = null;

  constructor(
    public flag: CompiledFlag,
    public revision: number,
  ) {}

  count(variant: string): void {
    if (variant === 'on') this.on++;
    else if (variant === 'off') this.off++;
    else (this.others ??= new OtherVariants()).count(variant);
  }

  /** Adds the counts to the sink's current window and resets them; false when there were none. */
  drain(outcomes: ExposureSink): boolean {
    const key = this.flag.key;
    let counted = false;
    if (this.on > 0) {
      outcomes?.exposure(key, 'on', this.on);
      this.on = 0;
      counted = true;
    }
    if (this.off > 0) {
      outcomes?.exposure(key, 'off', this.off);
      this.off = 0;
      counted = true;
    }
    const others = this.others;
    if (others !== null) {
      for (let i = 0; i < others.counts.length; i++) {
        if (others.counts[i]! > 0) {
          outcomes?.exposure(key, others.variants[i]!, others.counts[i]!);
          others.counts[i] = 0;
          counted = true;
        }
      }
    }
    return counted;
  }
}

/** Counts by variant index: a flag's few variants, in the order first seen, found by a short scan. */
class OtherVariants {
  readonly variants: string[] = [];
  readonly counts: number[] = [];

  count(variant: string): void {
    const variants = this.variants;
    for (let i = 0; i < variants.length; i++) {
      if (variants[i] === variant) {
        this.counts[i]!++;
        return;
      }
    }
    variants.push(variant);
    this.counts.push(1);
  }
}

/**
 * The slow path of the evaluation methods: a first evaluation of the flag (in this window), or the engine
 * changed since the slot took its compiled flag. A removed flag's slot is dropped after handing over its counts.
 */
export function refreshSlot(
  slots: Map<string, ExposureSlot>,
  engine: EvaluationEngine,
  sink: ExposureSink,
  key: string,
  slot: ExposureSlot | undefined,
): ExposureSlot | undefined {
  const flag = engine.lookup(key);
  const revision = engine.revision;
  if (flag === undefined) {
    if (slot !== undefined) {
      // Removed: what it counted goes into the current window now (no window was closed since it counted).
      slots.delete(key);
      slot.drain(sink);
    }
    return undefined;
  }
  if (slot === undefined) slots.set(key, (slot = new ExposureSlot(flag, revision)));
  else {
    slot.flag = flag;
    slot.revision = revision;
  }
  return slot;
}

/**
 * Moves the exposures counted since the last flush into the sink's current window, right before it is closed,
 * so they land in the same window as before. Slots that counted nothing in the window are dropped: memory
 * follows the flags in use, and a flag evaluated again gets a new slot.
 */
export function drainSlots(slots: Map<string, ExposureSlot>, sink: ExposureSink): void {
  for (const [key, slot] of slots) {
    if (!slot.drain(sink)) slots.delete(key);
  }
}
