import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  errorReply,
  flagSubjects,
  okReply,
  queueGroup,
  type CommandEnvelope,
  type EnvironmentConfig,
  type FlagCommandResult,
  type FlagDefinition,
} from '#rollgate/contracts';
import type { NatsAccess } from '#rollgate/testing';

interface Applied {
  commandId: string;
  verb: string;
  payload: Record<string, unknown>;
  result: FlagCommandResult;
}

/**
 * Test-only stand-in for the flags service as the canary uses it (apps/canary may not import apps/flags): `get`,
 * `configure-environment` and `remove-environment` on in-memory flags, with the real one's contract where the
 * canary relies on it: a repeated command id answers its first result as a duplicate, an `expectedVersion` that
 * is not the flag's is FLAGS.VERSION_CONFLICT, a change that changes nothing appends nothing.
 */
export class FakeFlags {
  readonly flags = new Map<string, FlagDefinition>();
  readonly applied: Applied[] = [];
  /** Sent commands, duplicates included. */
  readonly received: Array<{ commandId: string; verb: string; actor: string; reason?: string }> = [];
  /** Runs once on the next `get` (a change racing the canary's start). */
  beforeNextGet: (() => void) | undefined;
  private readonly subs: Subscription[] = [];

  private constructor(private readonly nc: NatsConnection) {}

  static async start(nats: NatsAccess): Promise<FakeFlags> {
    const fake = new FakeFlags(await connect(nats.options('flags')));
    fake.serve();
    return fake;
  }

  define(flag: Omit<FlagDefinition, 'version'> & { version?: number }): FlagDefinition {
    const stored = { ...structuredClone(flag), version: flag.version ?? 1 } as FlagDefinition;
    this.flags.set(flag.key, stored);
    return stored;
  }

  /** A change by someone else: the flag's version moves. */
  touch(key: string, environment: string, config: EnvironmentConfig): void {
    const flag = this.flags.get(key)!;
    this.flags.set(key, {
      ...flag,
      environments: { ...flag.environments, [environment]: config },
      version: flag.version + 1,
    });
  }

  async close(): Promise<void> {
    for (const sub of this.subs) sub.unsubscribe();
    await this.nc.drain();
  }

  private serve(): void {
    const queue = queueGroup('flags');
    this.subs.push(
      this.nc.subscribe(flagSubjects.query('get'), {
        queue,
        callback: (_, msg) => {
          this.beforeNextGet?.();
          this.beforeNextGet = undefined;
          const { key } = msg.json<{ key: string }>();
          const flag = this.flags.get(key);
          msg.respond(
            JSON.stringify(
              flag
                ? okReply({ flag, position: '1', updatedAt: new Date().toISOString() })
                : errorReply({ code: 'FLAGS.NOT_FOUND', message: `flag ${key} does not exist` }),
            ),
          );
        },
      }),
    );
    for (const verb of ['configure-environment', 'remove-environment'] as const) {
      this.subs.push(
        this.nc.subscribe(flagSubjects.command(verb), {
          queue,
          callback: (_, msg) => {
            msg.respond(JSON.stringify(this.command(verb, msg.json<CommandEnvelope<Record<string, unknown>>>())));
          },
        }),
      );
    }
  }

  private command(verb: string, envelope: CommandEnvelope<Record<string, unknown>>) {
    this.received.push({
      commandId: envelope.commandId,
      verb,
      actor: envelope.actor,
      ...(envelope.reason ? { reason: envelope.reason } : {}),
    });
    const earlier = this.applied.find((a) => a.commandId === envelope.commandId);
    if (earlier) return okReply({ ...earlier.result, duplicate: true, appended: 0 });
    const { key, environment, config, expectedVersion } = envelope.payload as {
      key: string;
      environment: string;
      config?: EnvironmentConfig;
      expectedVersion?: number;
    };
    const flag = this.flags.get(key);
    if (!flag) return errorReply({ code: 'FLAGS.NOT_FOUND', message: `flag ${key} does not exist` });
    if (expectedVersion !== undefined && expectedVersion !== flag.version) {
      return errorReply({
        code: 'FLAGS.VERSION_CONFLICT',
        message: `flag-${key} is not at version ${expectedVersion}`,
      });
    }
    const environments = { ...flag.environments };
    if (verb === 'remove-environment') delete environments[environment];
    else environments[environment] = structuredClone(config!);
    const changed = JSON.stringify(environments) !== JSON.stringify(flag.environments);
    const next = changed ? { ...flag, environments, version: flag.version + 1 } : flag;
    this.flags.set(key, next);
    const result: FlagCommandResult = {
      key,
      version: next.version,
      position: String(this.applied.length + 1),
      duplicate: false,
      appended: changed ? 1 : 0,
      flag: next,
    };
    this.applied.push({ commandId: envelope.commandId, verb, payload: envelope.payload, result });
    return okReply(result);
  }
}
