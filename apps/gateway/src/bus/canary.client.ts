import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { canarySubjects, type CanaryCommandVerb, type CanaryQueryNoun } from '#rollgate/contracts';
import { NATS_CONNECTION } from '#rollgate/messaging';
import { pathToSnakeCase } from '../http/json-case.js';
import { GatewayEnv } from '../gateway.config.js';
import type { CommandContext } from './command-context.js';
import type { PathToHttp } from './flags.client.js';
import { ServiceRequests } from './service-requests.js';

/** A canary command drives its flag change before it answers (a flags command, maybe several): more time than one hop. */
const COMMAND_EXTRA_MS = 5_000;

/**
 * The gateway's way to the canary service, as FlagsClient is to the flags service: `rg.cmd.canary.<verb>`,
 * `rg.qry.canary.<noun>` (ServiceRequests).
 */
@Injectable()
export class CanaryClient {
  private readonly requests: ServiceRequests;

  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection, env: GatewayEnv) {
    this.requests = new ServiceRequests(nc, 'canary', env.ROLLGATE_BUS_TIMEOUT_MS);
  }

  command<Result>(
    verb: CanaryCommandVerb,
    payload: object,
    context: CommandContext,
    pathToHttp: PathToHttp = pathToSnakeCase,
  ): Promise<Result> {
    return this.requests.command<Result>(canarySubjects.command(verb), payload, context, { pathToHttp, extraMs: COMMAND_EXTRA_MS });
  }

  query<Result>(noun: CanaryQueryNoun, query: object, correlationId?: string): Promise<Result> {
    return this.requests.query<Result>(canarySubjects.query(noun), query, correlationId);
  }
}
