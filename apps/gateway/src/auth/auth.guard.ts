import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { ForbiddenError, HealthController, MetricsController, UnauthorizedError } from '#rollgate/platform';
import { TOKEN_AUTHENTICATOR, mayUse, type Refusal, type Role, type TokenAuthenticator } from './principal.js';
import { PUBLIC_KEY, ROLES_KEY, type AuthenticatedRequest } from './roles.decorator.js';

// The platform's controllers cannot carry our decorator; they are public by design (probes and scrapers).
const PUBLIC_CONTROLLERS: ReadonlySet<unknown> = new Set([HealthController, MetricsController]);
const BEARER = /^Bearer[ \t]+([^\s]{1,4096})[ \t]*$/i;
const REFUSED: Record<Refusal, string> = {
  unknown: 'Invalid bearer token',
  expired: 'Bearer token expired',
  revoked: 'Bearer token revoked',
};

/**
 * Global guard, deny by default: every route needs a valid bearer token unless it is @Public(); the principal
 * must hold one of the route's @Roles (admin-only when none is declared). `admin` passes every role check.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKEN_AUTHENTICATOR) private readonly authenticator: TokenAuthenticator,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (PUBLIC_CONTROLLERS.has(context.getClass()) || this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) {
      return true;
    }
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    // From memory (issued tokens are a table kept current from the gateway's database): no I/O per request.
    const authentication = token === undefined ? undefined : this.authenticator.authenticate(token);
    if (authentication === undefined || !authentication.ok) {
      void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="rollgate"');
      throw new UnauthorizedError(
        authentication === undefined ? 'Missing bearer token' : REFUSED[authentication.refusal],
      );
    }
    const { principal } = authentication;
    const required = this.reflector.getAllAndOverride<readonly Role[]>(ROLES_KEY, targets) ?? ['admin'];
    if (!mayUse(principal, required)) {
      throw new ForbiddenError('This token may not do that', { details: { required } });
    }
    request.principal = principal;
    return true;
  }
}
