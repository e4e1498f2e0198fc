import { Inject, Injectable } from '@nestjs/common';
import { headers as natsHeaders, NoRespondersError, RequestError, TimeoutError, type NatsConnection } from '@nats-io/nats-core';
import {
  CORRELATION_HEADER,
  ErrorCodes,
  flagSubjects,
  readPagedSnapshot,
  SnapshotPagesError,
  type CommandEnvelope,
  type FlagSnapshot,
  type FlagSnapshotPage,
  type SegmentMembersPage,
  type FlagCommandResult,
  type FlagCommandVerb,
  type FlagQueryNoun,
  type Reply,
} from '#rollgate/contracts';
import { MessagingError, NATS_CONNECTION, requestCommand } from '#rollgate/messaging';
import { RollgateError, ValidationError, problemsOf } from '#rollgate/platform';
import { pathToSnakeCase } from '../http/json-case.js';
import { EnvironmentStates } from '../edge/environment-states.js';
import { GatewayEnv } from '../gateway.config.js';
import type { CommandContext } from './command-context.js';

export type { FlagCommandVerb, FlagQueryNoun } from '#rollgate/contracts';

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room for the request's headers (correlation id) and the reply inbox. */
const HEADER_ALLOWANCE = 4 * 1024;

/** A bus problem path (camelCase, the command's payload) → the HTTP body's naming. */
export type PathToHttp = (path: string) => string;

/**
 * The gateway's only way to the flags service: `rg.cmd.flags.<verb>` with the raw CommandEnvelope, and
 * `rg.qry.flags.<noun>` with the raw query object (the flags service takes queries without an envelope; the
 * correlation id travels in the `Rg-Correlation-Id` header either way). An `{ ok: false }` reply is rethrown as a RollgateError with the service's code, so the HTTP
 * filter gives it the status its code maps to (no responders 503, timeout 504).
 */
@Injectable()
export class FlagsClient {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly env: GatewayEnv,
    private readonly states: EnvironmentStates,
  ) {}

  /**
   * The most one request may take on the bus (the server's max_payload less room for headers): a larger command
   * or query is refused here with GENERIC.PAYLOAD_TOO_LARGE (413) instead of failing inside the NATS client.
   */
  maxRequestBytes(): number {
    return (this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ALLOWANCE;
  }

  /**
   * `pathToHttp` names the problems of a validation reply as the HTTP body does (default: snake_case). A flag
   * command answers once this gateway's local state holds the flag's new version (bounded), so a read through
   * this gateway right after the reply sees the write.
   */
  async command<Result>(verb: FlagCommandVerb, payload: object, context: CommandContext, pathToHttp: PathToHttp = pathToSnakeCase): Promise<Result> {
    const withVersion =
      context.expectedVersion === undefined ? payload : { ...payload, expectedVersion: context.expectedVersion };
    const result = await this.send<Result>(flagSubjects.command(verb), this.envelope(withVersion, context, context.commandId), pathToHttp);
    const written = result as Partial<FlagCommandResult> | undefined;
    if (written?.flag !== undefined && written.flag !== null && typeof written.key === 'string' && typeof written.version === 'number') {
      await this.states.caughtUp({ key: written.key, version: written.version });
    }
    return result;
  }

  async query<Result>(noun: FlagQueryNoun, query: object, context: Pick<CommandContext, 'correlationId'>): Promise<Result> {
    const subject = flagSubjects.query(noun);
    const h = natsHeaders();
    if (context.correlationId !== undefined) h.set(CORRELATION_HEADER, context.correlationId);
    let data: string;
    const body = this.fitting(subject, JSON.stringify(query));
    try {
      const msg = await this.nc.request(subject, body, { timeout: this.env.ROLLGATE_BUS_TIMEOUT_MS, headers: h });
      data = msg.string();
    } catch (error) {
      throw busFailure(subject, error);
    }
    let reply: Reply<Result>;
    try {
      reply = JSON.parse(data) as Reply<Result>;
    } catch (cause) {
      throw new RollgateError(ErrorCodes.internal, `flags service: reply on ${subject} is not JSON`, { cause });
    }
    if (reply.ok === true) return reply.result;
    throw fromReply(reply.error, pathToSnakeCase);
  }

  private envelope(
    payload: object,
    context: Pick<CommandContext, 'actor' | 'correlationId' | 'reason' | 'requestHash'>,
    commandId: string,
  ): CommandEnvelope<object> {
    const envelope: CommandEnvelope<object> = { commandId, actor: context.actor, payload };
    if (context.reason !== undefined) envelope.reason = context.reason;
    if (context.correlationId !== undefined) envelope.correlationId = context.correlationId;
    if (context.requestHash !== undefined) envelope.requestHash = context.requestHash;
    return envelope;
  }

  /**
   * An environment's whole snapshot, read in pages (each one bus reply below max_payload) and joined; read again
   * from the first page when the environment changed meanwhile.
   */
  async snapshot(environment: string, context: Pick<CommandContext, 'correlationId'>): Promise<FlagSnapshot> {
    try {
      return (await readPagedSnapshot((page) => this.query<FlagSnapshotPage>('snapshot', page, context), environment)).snapshot;
    } catch (error) {
      if (error instanceof SnapshotPagesError) throw new RollgateError(ErrorCodes.unavailable, error.message, { cause: error });
      throw error;
    }
  }

  /** Every member of a member list, page by page; restarts when the list changed between pages. */
  async segmentMembers(key: string, context: Pick<CommandContext, 'correlationId'>): Promise<string[]> {
    for (let attempt = 0; ; attempt++) {
      const members: string[] = [];
      let version: number | undefined;
      let offset: number | null = 0;
      while (offset !== null) {
        const page: SegmentMembersPage = await this.query<SegmentMembersPage>('segment-members', { key, offset }, context);
        if (version !== undefined && page.version !== version) break;
        version = page.version;
        members.push(...page.members);
        offset = page.next;
      }
      if (offset === null) return members;
      if (attempt >= 5) throw new RollgateError(ErrorCodes.unavailable, `segment ${key} kept changing while its members were read`);
    }
  }

  private fitting(subject: string, body: string): string {
    const bytes = Buffer.byteLength(body);
    if (bytes > this.maxRequestBytes()) {
      throw new RollgateError(ErrorCodes.payloadTooLarge, `the request for ${subject} would be ${bytes} bytes on the bus, over its ${this.maxRequestBytes()}`, {
        details: { subject, bytes, maxBytes: this.maxRequestBytes() },
      });
    }
    return body;
  }

  private async send<Result>(subject: string, envelope: CommandEnvelope<object>, pathToHttp: PathToHttp): Promise<Result> {
    this.fitting(subject, JSON.stringify(envelope));
    let reply;
    try {
      reply = await requestCommand<Result>(this.nc, subject, envelope, { timeoutMs: this.env.ROLLGATE_BUS_TIMEOUT_MS });
    } catch (error) {
      if (error instanceof MessagingError) {
        throw new RollgateError(error.code, `flags service: ${error.message}`, { details: { subject }, cause: error });
      }
      throw error;
    }
    if (!reply.ok) throw fromReply(reply.error, pathToHttp);
    return reply.result;
  }
}

/** The service's error, with validation problems renamed to the HTTP API's fields (the bus speaks camelCase). */
const fromReply = (body: unknown, pathToHttp: PathToHttp): RollgateError => {
  const error = RollgateError.fromBody(body);
  const problems = error.code === ErrorCodes.validation ? problemsOf(error.details) : undefined;
  if (problems === undefined) return error;
  return ValidationError.of(problems.map(({ path, message }) => ({ path: pathToHttp(path), message })), error.message);
};

/** Same mapping as the messaging lib's requestCommand: no responders → 503, timeout → 504. */
const busFailure = (subject: string, error: unknown): unknown => {
  if (error instanceof NoRespondersError || (error instanceof RequestError && error.isNoResponders())) {
    return new RollgateError(ErrorCodes.unavailable, `flags service: no responders on ${subject}`, { details: { subject }, cause: error });
  }
  if (error instanceof TimeoutError || (error instanceof RequestError && error.cause instanceof TimeoutError)) {
    return new RollgateError(ErrorCodes.timeout, `flags service: ${subject} timed out`, { details: { subject }, cause: error });
  }
  return error;
};
