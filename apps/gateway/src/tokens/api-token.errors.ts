import { ErrorCodes, type Problem } from '#rollgate/contracts';
import { RollgateError, validationDetails } from '#rollgate/platform';

/** The token aggregate's error area: conflicts from the command core read `TOKENS.VERSION_CONFLICT` and so on. */
export const TOKENS_AREA = 'TOKENS';

export const TokenErrorCodes = {
  notFound: 'TOKENS.NOT_FOUND',
  alreadyExists: 'TOKENS.ALREADY_EXISTS',
  validation: ErrorCodes.validation,
} as const;

export class TokenError extends RollgateError {
  override readonly name: string = 'TokenError';

  static notFound(id: string): TokenError {
    return new TokenError(TokenErrorCodes.notFound, `API token ${id} does not exist`, { details: { id } });
  }

  static alreadyExists(id: string): TokenError {
    return new TokenError(TokenErrorCodes.alreadyExists, `API token ${id} already exists`, { details: { id } });
  }

  /** `GENERIC.VALIDATION` with `{ problems }`, paths in the HTTP API's naming (these commands never leave the gateway). */
  static invalid(problems: readonly Problem[]): TokenError {
    const summary = problems.map(({ path, message }) => `${path} ${message}`).join('; ');
    return new TokenError(TokenErrorCodes.validation, `Validation failed: ${summary}`, {
      details: validationDetails(problems),
    });
  }
}
