import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import { rollbackSubjects, type RollbackCommandVerb, type RollbackQueryNoun } from '#rollgate/contracts';
import { NATS_CONNECTION } from '#rollgate/messaging';
import { pathToSnakeCase } from '../http/json-case.js';
import { GatewayEnv } from '../gateway.config.js';
import type { CommandContext } from './command-context.js';
import type { PathToHttp } from './flags.client.js';
import { ServiceRequests } from './service-requests.js';

/** A cancel waits for the execution to stop between steps: the bus deadline plus that wait. */
const CANCEL_EXTRA_MS = 6_000;

/**
 * The gateway's way to the rollback service, as FlagsClient is to the flags service: `rg.cmd.rollback.<verb>`,
 * `rg.qry.rollback.<noun>` (ServiceRequests).
 */
@Injectable()
export class RollbackClient {
  private readonly requests: ServiceRequests;

  constructor(@Inject(NATS_CONNECTION) nc: NatsConnection, env: GatewayEnv) {
    this.requests = new ServiceRequests(nc, 'rollback', env.ROLLGATE_BUS_TIMEOUT_MS);
  }

  command<Result>(verb: RollbackCommandVerb, payload: object, context: CommandContext, pathToHttp: PathToHttp = pathToSnakeCase): Promise<Result> {
    return this.requests.command<Result>(rollbackSubjects.command(verb), payload, context, {
      pathToHttp,
      extraMs: verb === 'cancel' ? CANCEL_EXTRA_MS : 0,
    });
  }

  query<Result>(noun: RollbackQueryNoun, query: object, correlationId?: string): Promise<Result> {
    return this.requests.query<Result>(rollbackSubjects.query(noun), query, correlationId);
  }
}
