import type { DomainEvent, AggregateType } from './aggregate.js';

export interface CachedFold<State> {
  state: State;
  version: number;
  /** Global position of the last event folded, 0n for none. */
  position: bigint;
}

/**
 * The latest folded state of recently decided streams, so the next decision on a stream reads only the events after
 * it instead of the whole stream (a rollback execution of a 1 000-flag restore carries ~600 KB of events, read back
 * for every step it records). Events are immutable and versions only grow, so a fold at version v plus the events
 * after v is the fold of the stream. States are cloned in and out: a caller that changed a state it was handed
 * cannot change the cache. Least recently used streams go first.
 */
export class FoldedCache {
  private readonly entries = new Map<string, CachedFold<unknown>>();

  constructor(private readonly maxStreams = 64) {}

  get<State, Event extends DomainEvent>(aggregate: AggregateType<State, Event>, streamId: string): CachedFold<State> | undefined {
    const key = `${aggregate.name}\u0000${streamId}`;
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return { ...entry, state: structuredClone(entry.state) as State };
  }

  put<State, Event extends DomainEvent>(aggregate: AggregateType<State, Event>, streamId: string, fold: CachedFold<State>): void {
    if (this.maxStreams === 0) return;
    const key = `${aggregate.name}\u0000${streamId}`;
    this.entries.delete(key);
    this.entries.set(key, { ...fold, state: structuredClone(fold.state) });
    while (this.entries.size > this.maxStreams) this.entries.delete(this.entries.keys().next().value!);
  }
}
