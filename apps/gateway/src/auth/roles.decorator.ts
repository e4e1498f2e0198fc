import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal, Role } from './principal.js';

export const ROLES_KEY = 'rollgate:roles';
export const PUBLIC_KEY = 'rollgate:public';

/** Roles allowed on a route or controller (any of them). Without it, a route is admin-only. */
export const Roles = (...roles: readonly Role[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);

/** No authentication at all (health, metrics). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/** The principal the AuthGuard attached to the request. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (principal === undefined) throw new Error('CurrentPrincipal used on a route the AuthGuard did not authenticate');
  return principal;
});
