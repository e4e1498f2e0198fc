import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Reply } from '#rollgate/contracts';
import type { NatsAccess, NatsUser } from '#rollgate/testing';

/**
 * A plain NATS client, as any other program on the bus would be: raw JSON (or raw bytes) in, the raw Reply out.
 */
export class BusClient {
  private constructor(private readonly nc: NatsConnection) {}

  /** Logs in as `user`; the default, the gateway, may send every command and query. */
  static async connect(nats: NatsAccess, user: NatsUser = 'gateway'): Promise<BusClient> {
    return new BusClient(await connect({ ...nats.options(user), name: 'rollgate-e2e' }));
  }

  /** Request-reply; `body` is sent as JSON, or as-is when it is a string or bytes (malformed payloads). */
  async request<Result = unknown>(subject: string, body: unknown, timeoutMs = 5_000): Promise<Reply<Result>> {
    const data = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const msg = await this.nc.request(subject, data, { timeout: timeoutMs });
    return msg.json<Reply<Result>>();
  }

  /** Every message on `subject` (wildcards allowed) from now until `stop()`: subject and text. */
  collect(subject: string): { messages: Array<{ subject: string; data: string }>; stop: () => Promise<void> } {
    const messages: Array<{ subject: string; data: string }> = [];
    const sub = this.nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error === null) messages.push({ subject: msg.subject, data: msg.string() });
      },
    });
    return {
      messages,
      stop: async () => {
        await this.nc.flush();
        sub.unsubscribe();
      },
    };
  }

  /** Fire and forget (outcome batches, status reports); resolves once the server has it. */
  async publish(subject: string, data: string): Promise<void> {
    this.nc.publish(subject, data);
    await this.nc.flush();
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
