import {
  applyDecorators,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  SetMetadata,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { EvaluationContext } from '#rollgate/evaluation';
import { RollgateClients, ROLLGATE_OPTIONS, type RollgateModuleOptions } from './rollgate.module.js';

export const REQUIRE_FLAG = 'rollgate:require-flag';

export interface RequireFlagOptions {
  /** Evaluate in this environment's client (registered with `extraEnvironments`); default the primary one. */
  environment?: string;
  /** Overrides the module's `deniedStatus` for this route. */
  deniedStatus?: 403 | 404;
}

interface RequireFlagMetadata extends RequireFlagOptions {
  key: string;
}

/** The default request → context: an authenticated `request.user.id`, else the `x-user-id` header. */
export function defaultContextFromRequest(request: unknown): EvaluationContext {
  const r = request as { user?: { id?: unknown }; headers?: Record<string, unknown> };
  const userId = r.user?.id ?? r.headers?.['x-user-id'];
  return typeof userId === 'string' || typeof userId === 'number' ? { userId: String(userId) } : {};
}

/** Lets a request through only when the flag is on for its context; otherwise 404 (or 403). Fails closed. */
@Injectable()
export class RequireFlagGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly clients: RollgateClients,
    @Inject(ROLLGATE_OPTIONS) private readonly options: RollgateModuleOptions,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<RequireFlagMetadata | undefined>(REQUIRE_FLAG, [context.getHandler(), context.getClass()]);
    if (required === undefined) return true;
    const request = context.switchToHttp().getRequest<unknown>();
    const evaluationContext = (this.options.contextFromRequest ?? defaultContextFromRequest)(request);
    const client = this.clients.get(required.environment);
    if (client !== undefined && client.isEnabled(required.key, evaluationContext)) return true;
    const status = required.deniedStatus ?? this.options.deniedStatus ?? 404;
    throw status === 403 ? new ForbiddenException(`feature ${required.key} is off`) : new NotFoundException();
  }
}

/** Gates a route (or a controller) on a flag: `@RequireFlag('new_checkout')`. */
export const RequireFlag = (key: string, options: RequireFlagOptions = {}): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(REQUIRE_FLAG, { key, ...options } satisfies RequireFlagMetadata), UseGuards(RequireFlagGuard));
