import type { EventStore, ReadStreamOptions, RecordedEvent } from './event-store.port.js';

export interface Folded<State> {
  state: State;
  version: number;
}

/** Rebuilds a stream's state (optionally as of a position or a time) by folding its events. */
export async function foldStream<State>(
  store: EventStore,
  streamId: string,
  initial: State,
  evolve: (state: State, event: RecordedEvent) => State,
  options?: ReadStreamOptions,
): Promise<Folded<State>> {
  const events = await store.readStream(streamId, options);
  let state = initial;
  for (const event of events) state = evolve(state, event);
  return { state, version: events.length === 0 ? 0 : events[events.length - 1]!.streamVersion };
}
