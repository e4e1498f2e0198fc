import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { SUBJECT_TOKEN, subjects, type SdkStatusReport } from '#rollgate/contracts';

interface ClientEntry {
  clientId: string;
  environment: string;
  appliedPosition: bigint;
  appliedAt: number | null;
  seenAt: number;
}

export interface PropagationOutcome {
  /** Every counted client applied the position (or there was nothing to wait for). */
  applied: boolean;
  clients: number;
  /** Clients still behind when the wait ended. */
  lagging: Array<{ clientId: string; environment: string; appliedPosition: string }>;
  /** Latest `appliedAt` among the counted clients once all were at the position: when the last one applied it. */
  confirmedAt: string | null;
}

const parse = (subjectEnvironment: string, raw: unknown): SdkStatusReport | undefined => {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const ok =
    typeof r['clientId'] === 'string' && r['clientId'].length > 0 && r['clientId'].length <= 200 &&
    r['environment'] === subjectEnvironment && SUBJECT_TOKEN.test(subjectEnvironment) &&
    typeof r['appliedPosition'] === 'string' && /^[0-9]{1,20}$/.test(r['appliedPosition']);
  return ok ? (raw as SdkStatusReport) : undefined;
};

/**
 * What every SDK client last reported on `rg.sdk.<env>.status` (no queue group: each replica hears all). A wait
 * counts the clients heard within 3 status intervals; a board younger than one interval and a half has not heard
 * every client yet, so a wait first lets it listen that long (else a restart would see "no clients" and pass).
 */
export class SdkStatusBoard {
  private readonly clients = new Map<string, ClientEntry>();
  private subscription: Subscription | null = null;
  private startedAt = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly statusIntervalMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    if (this.subscription !== null) return;
    this.startedAt = this.clock();
    this.subscription = this.nc.subscribe(subjects.sdkStatus('*'), {
      callback: (error, msg) => {
        if (error !== null) return;
        let raw: unknown;
        try {
          raw = msg.json();
        } catch {
          return;
        }
        const environment = msg.subject.split('.')[2] ?? '';
        const report = parse(environment, raw);
        if (report !== undefined) this.observe(report);
      },
    });
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    if (subscription !== null && !subscription.isClosed()) subscription.unsubscribe();
    for (const listener of this.listeners) listener();
  }

  observe(report: SdkStatusReport): void {
    const id = `${report.environment}\u0000${report.clientId}`;
    this.clients.delete(id);
    this.clients.set(id, {
      clientId: report.clientId,
      environment: report.environment,
      appliedPosition: BigInt(report.appliedPosition),
      appliedAt: report.appliedAt === null ? null : Date.parse(report.appliedAt),
      seenAt: this.clock(),
    });
    if (this.clients.size > 100_000) this.clients.delete(this.clients.keys().next().value!);
    for (const listener of this.listeners) listener();
  }

  /** Clients heard within 3 status intervals in `environments` (all when null). */
  current(environments: readonly string[] | null): ClientEntry[] {
    const horizon = this.clock() - 3 * this.statusIntervalMs;
    return [...this.clients.values()].filter((entry) => entry.seenAt >= horizon && (environments === null || environments.includes(entry.environment)));
  }

  /** Where the counted clients stand against `position` right now. */
  assess(position: string | null, environments: readonly string[] | null, minClients = 0): PropagationOutcome {
    const clients = this.current(environments);
    const target = position === null ? null : BigInt(position);
    const lagging = target === null ? [] : clients.filter((entry) => entry.appliedPosition < target);
    const applied = lagging.length === 0 && clients.length >= minClients;
    const times = clients.map((entry) => entry.appliedAt ?? entry.seenAt);
    return {
      applied,
      clients: clients.length,
      lagging: lagging.map((entry) => ({ clientId: entry.clientId, environment: entry.environment, appliedPosition: entry.appliedPosition.toString() })),
      confirmedAt: applied && times.length > 0 ? new Date(Math.max(...times)).toISOString() : null,
    };
  }

  /**
   * Resolves once every counted client applied `position` (and at least `minClients` are counted), or with the
   * laggards once `timeoutMs` passed or `signal` aborted.
   */
  async waitUntilApplied(
    position: string | null,
    environments: readonly string[] | null,
    options: { timeoutMs: number; minClients?: number; signal?: AbortSignal },
  ): Promise<PropagationOutcome> {
    const deadline = this.clock() + options.timeoutMs;
    const warmUntil = this.startedAt + Math.ceil(this.statusIntervalMs * 1.5);
    for (;;) {
      const outcome = this.assess(position, environments, options.minClients ?? 0);
      const now = this.clock();
      const warm = now >= warmUntil;
      if ((outcome.applied && warm) || now >= deadline || options.signal?.aborted) return outcome;
      await this.changeOrTimeout(Math.min(deadline, warm ? deadline : warmUntil) - now, options.signal);
    }
  }

  private changeOrTimeout(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, Math.min(ms, this.statusIntervalMs)));
      this.listeners.add(done);
      signal?.addEventListener('abort', done);
    });
  }
}
