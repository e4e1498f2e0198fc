import { SUBJECT_TOKEN, type SdkStatusReport } from '#rollgate/contracts';

const STATES = new Set(['connected', 'disconnected', 'stale']);
const MAX_ID_LENGTH = 200;

/** Checks one `rg.sdk.<environment>.status` body; undefined when it is not a report for that environment. */
export function checkStatusReport(subjectEnvironment: string, raw: unknown): SdkStatusReport | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const optionalText = (value: unknown): boolean => value === null || (typeof value === 'string' && value.length <= MAX_ID_LENGTH);
  const optionalTime = (value: unknown): boolean => value === null || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));
  const ok =
    typeof r['clientId'] === 'string' && r['clientId'].length > 0 && r['clientId'].length <= MAX_ID_LENGTH &&
    r['environment'] === subjectEnvironment && SUBJECT_TOKEN.test(subjectEnvironment) &&
    typeof r['appliedPosition'] === 'string' && /^[0-9]{1,20}$/.test(r['appliedPosition']) &&
    optionalText(r['appliedEventId']) && optionalTime(r['lastEventRecordedAt']) && optionalTime(r['appliedAt']) &&
    typeof r['state'] === 'string' && STATES.has(r['state']);
  return ok ? (raw as SdkStatusReport) : undefined;
}

interface ClientEntry {
  environment: string;
  lastEventId: string | null;
  seenAt: number;
}

export interface PropagationTrackerOptions {
  /** The SDKs' status period; a client counts as connected while its last report is younger than 3 of them. */
  statusIntervalMs: number;
  /** Clients remembered at most (the oldest are forgotten first). */
  maxClients?: number;
}

/**
 * Per SDK client, the last applied event it reported. A report whose applied event differs from the same client's
 * previous one yields the propagation lag of that event: `appliedAt - lastEventRecordedAt` (commit to applied,
 * both from the one machine clock when client and database share a host, else subject to their skew). A client's
 * first report only sets the baseline: what it applied before we heard of it may be long past.
 */
export class PropagationTracker {
  private readonly clients = new Map<string, ClientEntry>();
  private readonly maxClients: number;

  constructor(private readonly options: PropagationTrackerOptions) {
    this.maxClients = options.maxClients ?? 100_000;
  }

  /** Records a report seen at `now` (epoch ms); returns the lag in seconds when it reports a newly applied event. */
  observe(report: SdkStatusReport, now: number): number | undefined {
    const id = `${report.environment}\u0000${report.clientId}`;
    const previous = this.clients.get(id);
    // Re-inserted so that the map's order is the order of last reports (the oldest is pruned first).
    this.clients.delete(id);
    this.clients.set(id, { environment: report.environment, lastEventId: report.appliedEventId, seenAt: now });
    if (this.clients.size > this.maxClients) this.clients.delete(this.clients.keys().next().value!);
    if (previous === undefined || report.appliedEventId === null || report.appliedEventId === previous.lastEventId) return undefined;
    if (report.appliedAt === null || report.lastEventRecordedAt === null) return undefined;
    const lagMs = Date.parse(report.appliedAt) - Date.parse(report.lastEventRecordedAt);
    return Math.max(0, lagMs) / 1_000;
  }

  /** Clients per environment that reported within the last 3 status intervals; forgets the older ones. */
  connected(now: number): Map<string, number> {
    const horizon = now - 3 * this.options.statusIntervalMs;
    const counts = new Map<string, number>();
    for (const [id, entry] of this.clients) {
      if (entry.seenAt < horizon) this.clients.delete(id);
      else counts.set(entry.environment, (counts.get(entry.environment) ?? 0) + 1);
    }
    return counts;
  }
}
