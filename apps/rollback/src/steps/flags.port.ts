import type { NatsConnection } from '@nats-io/transport-node';
import {
  CORRELATION_HEADER,
  ErrorCodes,
  FLAG_COMMANDS,
  FLAG_QUERIES,
  flagSubjects,
  MAX_AS_OF_KEYS,
  type BulkFlagCommandResult,
  type CommandEnvelope,
  type EnvironmentConfigItem,
  type FlagAsOf,
  type FlagCommandResult,
  type FlagCommandVerb,
  type FlagDefinition,
  type FlagQueryNoun,
  type FlagView,
  type Page,
  type Reply,
} from '#rollgate/contracts';
import { headers as natsHeaders, NoRespondersError, RequestError } from '@nats-io/nats-core';
import { MessagingError, requestCommand } from '#rollgate/messaging';
import { RollgateError } from '#rollgate/platform';

/** Who a flags command is sent for: the execution's actor and reason, the execution id as correlation. */
export interface FlagsOrigin {
  commandId: string;
  actor: string;
  reason?: string;
  correlationId: string;
}

/**
 * The rollback service's only way to the flags service: `rg.cmd.flags.<verb>` with a CommandEnvelope (its command
 * id is the step's idempotency key) and `rg.qry.flags.<noun>`. An `{ ok: false }` reply is thrown as a RollgateError
 * with the flags service's code; no responders and timeouts as GENERIC.UNAVAILABLE / GENERIC.TIMEOUT.
 */
export class FlagsPort {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {}

  command(verb: FlagCommandVerb, payload: object, origin: FlagsOrigin): Promise<FlagCommandResult> {
    return this.send<FlagCommandResult>(verb, payload, origin);
  }

  /** One environment of many flags in one command (`configure-environments`); each item keeps its own command id. */
  configureEnvironments(environment: string, items: EnvironmentConfigItem[], origin: FlagsOrigin): Promise<BulkFlagCommandResult> {
    return this.send<BulkFlagCommandResult>(FLAG_COMMANDS.configureEnvironments, { environment, items }, origin);
  }

  private async send<Result>(verb: FlagCommandVerb, payload: object, origin: FlagsOrigin): Promise<Result> {
    const envelope: CommandEnvelope<object> = { commandId: origin.commandId, actor: origin.actor, correlationId: origin.correlationId, payload };
    if (origin.reason !== undefined) envelope.reason = origin.reason;
    let reply: Reply<Result>;
    try {
      reply = await requestCommand<Result>(this.nc, flagSubjects.command(verb), envelope, { timeoutMs: this.timeoutMs });
    } catch (error) {
      if (error instanceof MessagingError) throw new RollgateError(error.code, `flags service: ${error.message}`, { cause: error });
      throw error;
    }
    if (!reply.ok) throw RollgateError.fromBody(reply.error);
    return reply.result;
  }

  async query<Result>(noun: FlagQueryNoun, query: object, correlationId?: string): Promise<Result> {
    const subject = flagSubjects.query(noun);
    const h = natsHeaders();
    if (correlationId !== undefined) h.set(CORRELATION_HEADER, correlationId);
    let data: string;
    try {
      data = (await this.nc.request(subject, JSON.stringify(query), { timeout: this.timeoutMs, headers: h })).string();
    } catch (error) {
      const noResponders = error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders());
      const code = noResponders ? ErrorCodes.unavailable : ErrorCodes.timeout;
      throw new RollgateError(code, `flags service: ${subject} failed: ${(error as Error).message}`, { cause: error });
    }
    const reply = JSON.parse(data) as Reply<Result>;
    if (!reply.ok) throw RollgateError.fromBody(reply.error);
    return reply.result;
  }

  /** A flag now, or as it was at `asOf`; null when it does not exist (then). */
  async flag(key: string, asOf?: string): Promise<FlagDefinition | null> {
    try {
      const view = await this.query<FlagView>('get', asOf === undefined ? { key } : { key, asOf });
      return view.flag;
    } catch (error) {
      if (error instanceof RollgateError && error.code === 'FLAGS.NOT_FOUND') return null;
      throw error;
    }
  }

  /**
   * Each key's flag as it was at `asOf` (null: it did not exist then), only `environment`'s config when given: one
   * `as-of` query per MAX_AS_OF_KEYS keys, and another from where a reply that was full left off.
   */
  async flagsAsOf(keys: readonly string[], asOf: string, environment?: string, correlationId?: string): Promise<Map<string, FlagDefinition | null>> {
    const then = new Map<string, FlagDefinition | null>();
    let rest = [...keys];
    while (rest.length > 0) {
      const chunk = rest.slice(0, MAX_AS_OF_KEYS);
      const page = await this.query<Page<FlagAsOf>>(FLAG_QUERIES.asOf, { asOf, keys: chunk, ...(environment === undefined ? {} : { environment }) }, correlationId);
      for (const item of page.items) then.set(item.key, item.flag);
      rest = page.next === null ? rest.slice(chunk.length) : rest.slice(rest.indexOf(page.next));
    }
    return then;
  }

  /** Every flag that is not archived. */
  async activeFlags(): Promise<FlagDefinition[]> {
    const views = await this.query<FlagView[]>('list', { status: 'active' });
    return views.map((view) => view.flag);
  }

  async segmentExists(key: string): Promise<boolean> {
    const segments = await this.query<unknown[]>('segments', { key });
    return segments.length > 0;
  }
}
