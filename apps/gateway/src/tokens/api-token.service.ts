import { Inject, Injectable } from '@nestjs/common';
import { CommandHandler, type CommandOrigin } from '#rollgate/commands';
import { CLOCK, type Clock } from '#rollgate/service-runtime';
import type { Role } from '../auth/principal.js';
import { TokenTable } from '../auth/token-table.js';
import type { CommandContext } from '../bus/command-context.js';
import { apiTokenAggregate, decideApiToken, type ApiToken, type ApiTokenCommand } from './api-token.decider.js';
import { generateApiToken, hashApiToken, tokenIdFor } from './api-token.secret.js';

export interface IssueApiTokenInput {
  name: string;
  role: Role;
  expiresInSeconds?: number;
  expiresAt?: string;
  environment?: string;
}

export interface IssuedApiToken {
  token: ApiToken;
  /** The whole bearer token: present only on the first answer, it exists nowhere else. */
  secret?: string;
  /** The Idempotency-Key had issued this token before: nothing new, and no secret to show again. */
  duplicate: boolean;
}

const originOf = (context: CommandContext): CommandOrigin => ({
  commandId: context.commandId,
  actor: context.actor,
  ...(context.reason === undefined ? {} : { reason: context.reason }),
  ...(context.correlationId === undefined ? {} : { correlationId: context.correlationId }),
  ...(context.requestHash === undefined ? {} : { requestHash: context.requestHash }),
});

/**
 * Issuing and revoking API tokens on the command core, in the gateway's own event store: the acting principal is
 * the command context's actor (the bearer token's principal), so the events' metadata and the token's issued_by /
 * revoked_by say who. The result is merged into this replica's token table before the caller answers.
 */
@Injectable()
export class ApiTokenService {
  constructor(
    private readonly commands: CommandHandler,
    private readonly table: TokenTable,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async issue(input: IssueApiTokenInput, context: CommandContext): Promise<IssuedApiToken> {
    const tokenId = tokenIdFor(context.commandId);
    const secret = generateApiToken(tokenId);
    const command: ApiTokenCommand = {
      type: 'IssueApiToken',
      data: {
        tokenId,
        name: input.name,
        role: input.role,
        tokenHash: hashApiToken(secret),
        issuedBy: context.actor,
        ...(input.expiresInSeconds === undefined ? {} : { expiresInSeconds: input.expiresInSeconds }),
        ...(input.expiresAt === undefined ? {} : { expiresAt: input.expiresAt }),
        ...(input.environment === undefined ? {} : { environment: input.environment }),
      },
    };
    const outcome = await this.commands.handle(
      apiTokenAggregate,
      (c: ApiTokenCommand, state) => decideApiToken(c, state, this.clock()),
      {
        origin: originOf(context),
        key: tokenId,
        commandType: command.type,
        command,
      },
    );
    const token = outcome.state!;
    this.table.merge(token);
    return outcome.duplicate ? { token, duplicate: true } : { token, secret, duplicate: false };
  }

  /** Idempotent: revoking a revoked token appends nothing and answers it as it is. */
  async revoke(tokenId: string, context: CommandContext): Promise<ApiToken> {
    const command: ApiTokenCommand = { type: 'RevokeApiToken', data: { tokenId, revokedBy: context.actor } };
    const outcome = await this.commands.handle(
      apiTokenAggregate,
      (c: ApiTokenCommand, state) => decideApiToken(c, state, this.clock()),
      {
        origin: originOf(context),
        key: tokenId,
        commandType: command.type,
        command,
        ...(context.expectedVersion === undefined ? {} : { expectedVersion: context.expectedVersion }),
      },
    );
    const token = outcome.state!;
    this.table.merge(token);
    return token;
  }
}
