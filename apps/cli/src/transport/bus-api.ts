import type { NatsConnection } from '@nats-io/nats-core';
import type { CommandEnvelope, Reply } from '#rollgate/contracts';
import type { NatsCliSettings } from '../config/settings.js';
import { CliCodes, CliError } from '../errors/cli-error.js';

/** A rollback command or query sent straight to the services over NATS (`--via nats`), as the operator user. */
export type BusCall =
  | { kind: 'command'; subject: string; envelope: CommandEnvelope<object>; extraTimeoutMs?: number }
  | { kind: 'query'; subject: string; query: object };

/**
 * The bus as the operator user sees it: core request-reply on `rg.cmd.*` / `rg.qry.*` with the user's own inbox
 * prefix (libs/messaging natsLogin). The NATS client and the messaging lib load only when a command goes this way.
 */
export class BusApi {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly settings: NatsCliSettings,
  ) {}

  static describe(call: BusCall, settings: Pick<NatsCliSettings, 'NATS_URL' | 'NATS_USER'>): Record<string, unknown> {
    return {
      transport: 'nats',
      servers: settings.NATS_URL,
      user: settings.NATS_USER,
      subject: call.subject,
      ...(call.kind === 'command' ? { envelope: call.envelope } : { query: call.query }),
    };
  }

  static async connect(settings: NatsCliSettings): Promise<BusApi> {
    const [{ connect }, { natsLogin, natsServers }] = await Promise.all([import('@nats-io/transport-node'), import('#rollgate/messaging')]);
    try {
      const nc = await connect({ servers: natsServers(settings), ...natsLogin(settings), name: 'rollgate-cli', timeout: settings.timeoutMs, reconnect: false });
      return new BusApi(nc, settings);
    } catch (error) {
      const text = String((error as Error).message ?? error);
      const auth = /authoriz|authentic|permission/i.test(text);
      throw new CliError(
        auth ? 'GENERIC.UNAUTHORIZED' : CliCodes.unreachable,
        `cannot connect to NATS at ${settings.NATS_URL} as ${settings.NATS_USER}: ${text}`,
      );
    }
  }

  async send<Result = unknown>(call: BusCall): Promise<Result> {
    const { requestCommand, requestQuery, MessagingError } = await import('#rollgate/messaging');
    let reply: Reply<Result>;
    try {
      reply =
        call.kind === 'command'
          ? await requestCommand<Result>(this.nc, call.subject, call.envelope, { timeoutMs: this.settings.timeoutMs + (call.extraTimeoutMs ?? 0) })
          : await requestQuery<Result>(this.nc, call.subject, call.query, { timeoutMs: this.settings.timeoutMs });
    } catch (error) {
      if (error instanceof MessagingError) throw new CliError(error.code, error.message, { subject: call.subject });
      const text = String((error as Error).message ?? error);
      // A subject the user may not publish: the server says so asynchronously and the request times out or fails.
      if (/permission/i.test(text)) throw new CliError('GENERIC.FORBIDDEN', `NATS user ${this.settings.NATS_USER} may not publish ${call.subject}: ${text}`);
      throw error;
    }
    if (!reply.ok) throw new CliError(reply.error.code, reply.error.message, reply.error.details);
    return reply.result;
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => undefined);
  }
}
