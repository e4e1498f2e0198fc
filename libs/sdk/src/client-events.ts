import type { EventWire, FlagDefinition } from '#rollgate/contracts';
import type { RollgateLogger } from './rollgate.options.js';

export interface ChangeCause {
  /** The event type, or `Snapshot` when a fresh snapshot brought the change (its cause is then unknown). */
  eventType: string;
  actor?: string;
  reason?: string;
  correlationId?: string;
  causationId?: string;
  commandId?: string;
  eventId?: string;
  recordedAt?: string;
}

export interface FlagChangeEvent {
  key: string;
  oldVersion: number | undefined;
  /** undefined when the flag vanished (a snapshot without it). */
  newVersion: number | undefined;
  flag: FlagDefinition | null;
  cause: ChangeCause;
}

export type ClientStatus = 'connected' | 'disconnected' | 'stale' | 'resnapshot' | 'ready';

export interface StatusEvent {
  status: ClientStatus;
  detail?: string;
}

export type Listener<T> = (event: T) => void;

/** The client's `change`, per-flag and `status` listeners. A listener that throws is logged; the others still run. */
export class ClientEvents {
  private readonly changeListeners = new Set<Listener<FlagChangeEvent>>();
  private readonly flagListeners = new Map<string, Set<Listener<FlagChangeEvent>>>();
  private readonly statusListeners = new Set<Listener<StatusEvent>>();

  constructor(private readonly logger: RollgateLogger) {}

  on(event: 'change' | 'status', listener: Listener<FlagChangeEvent> | Listener<StatusEvent>): () => void {
    const set = (event === 'change' ? this.changeListeners : this.statusListeners) as Set<typeof listener>;
    set.add(listener);
    return () => set.delete(listener);
  }

  onFlagChange(key: string, listener: Listener<FlagChangeEvent>): () => void {
    let set = this.flagListeners.get(key);
    if (set === undefined) this.flagListeners.set(key, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emitChange(change: FlagChangeEvent): void {
    this.emit(this.changeListeners, change);
    const perFlag = this.flagListeners.get(change.key);
    if (perFlag !== undefined) this.emit(perFlag, change);
  }

  emitStatus(status: ClientStatus, detail?: string): void {
    this.emit(this.statusListeners, detail === undefined ? { status } : { status, detail });
  }

  private emit<T>(listeners: Iterable<Listener<T>>, event: T): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn('a listener threw', { error: String(error) });
      }
    }
  }
}

export function causeOf(event: EventWire | null): ChangeCause {
  if (event === null) return { eventType: 'Snapshot' };
  const m = event.metadata;
  const pick = (key: string): string | undefined => (typeof m[key] === 'string' ? (m[key] as string) : undefined);
  return {
    eventType: event.type,
    actor: pick('actor'),
    reason: pick('reason'),
    correlationId: pick('correlationId'),
    causationId: pick('causationId'),
    commandId: pick('commandId'),
    eventId: event.eventId,
    recordedAt: event.recordedAt,
  };
}
