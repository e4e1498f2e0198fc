/** A domain event as a decider sees it: plain typed data (metadata and positions stay with the stored event). */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

/** What any stored or delivered event carries that a fold needs (a RecordedEvent, an EventWire). */
export interface StoredEvent {
  streamId: string;
  streamVersion: number;
  type: string;
  data: unknown;
}

/**
 * A kind of stream: `flag-<key>`, `segment-<key>`, `canary-<id>`. It names the stream, knows its state's start and
 * how one event changes it. Every fold over a stream goes through it, so the cast from a stored `{ type, data }`
 * to the aggregate's event union happens in one place (`eventOf`), checked against `eventTypes`.
 */
export interface AggregateType<State, Event extends DomainEvent> {
  /** The stream id prefix before the first '-', also the aggregate token of event subjects. */
  readonly name: string;
  /** Error code area of the owning service (`FLAGS`): conflicts reach callers as `<AREA>.VERSION_CONFLICT`. */
  readonly area: string;
  readonly eventTypes: ReadonlySet<Event['type']>;
  readonly initialState: State;
  evolve(state: State, event: Event, version: number): State;
}

export const streamIdOf = (aggregate: Pick<AggregateType<unknown, DomainEvent>, 'name'>, key: string): string =>
  `${aggregate.name}-${key}`;

/** `flag-a-b` → `a-b` when the stream belongs to the aggregate, else undefined. */
export function keyOfStream(aggregate: Pick<AggregateType<unknown, DomainEvent>, 'name'>, streamId: string): string | undefined {
  const prefix = `${aggregate.name}-`;
  return streamId.startsWith(prefix) ? streamId.slice(prefix.length) : undefined;
}

/** The stored event as the aggregate's event, or undefined when its type is not one of the aggregate's. */
export function eventOf<State, Event extends DomainEvent>(aggregate: AggregateType<State, Event>, stored: StoredEvent): Event | undefined {
  if (!aggregate.eventTypes.has(stored.type as Event['type'])) return undefined;
  return { type: stored.type, data: stored.data } as Event;
}

/** One stored event folded into a state; events of other types leave it as it was. */
export function evolveStored<State, Event extends DomainEvent>(aggregate: AggregateType<State, Event>, state: State, stored: StoredEvent): State {
  const event = eventOf(aggregate, stored);
  return event === undefined ? state : aggregate.evolve(state, event, stored.streamVersion);
}

export interface Folded<State> {
  state: State;
  /** The stream version of the last event folded, 0 for none. */
  version: number;
}

/** The state after `events` (one stream's, in version order), starting from `from` (default the initial state). */
export function foldEvents<State, Event extends DomainEvent>(
  aggregate: AggregateType<State, Event>,
  events: readonly StoredEvent[],
  from: Folded<State> = { state: aggregate.initialState, version: 0 },
): Folded<State> {
  let { state, version } = from;
  for (const stored of events) {
    state = evolveStored(aggregate, state, stored);
    version = stored.streamVersion;
  }
  return { state, version };
}

/** Decided events folded onto the state they were decided on (what the aggregate becomes once they are appended). */
export function applyDecided<State, Event extends DomainEvent>(
  aggregate: AggregateType<State, Event>,
  from: Folded<State>,
  events: readonly Event[],
): Folded<State> {
  let state = from.state;
  events.forEach((event, i) => (state = aggregate.evolve(state, event, from.version + i + 1)));
  return { state, version: from.version + events.length };
}
