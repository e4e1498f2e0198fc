import { ForbiddenError } from '#rollgate/platform';

/** Roles of the HTTP API. `admin` may do everything; the route → role table is in docs/api.md. */
export const ROLES = ['admin', 'operator', 'reader', 'client'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling. `id` becomes the `actor` of every command envelope, hence of every event's metadata. */
export interface Principal {
  /** `admin` for the bootstrap token (ROLLGATE_ADMIN_TOKEN), `token:<id>` for an issued API token. */
  id: string;
  roles: readonly Role[];
  /** A scoped client token's one environment: it may evaluate nothing else. */
  environment?: string;
}

/** Why a bearer token was refused: all are 401, the message says which. */
export type Refusal = 'unknown' | 'expired' | 'revoked';

export type Authentication = { ok: true; principal: Principal } | { ok: false; refusal: Refusal };

/** Turns a bearer token into a principal, or says why not. Called on every request: no I/O. */
export interface TokenAuthenticator {
  authenticate(token: string): Authentication;
}

export const TOKEN_AUTHENTICATOR = Symbol('TOKEN_AUTHENTICATOR');

// Role sets used on routes (admin is in each; it passes every check anyway).
/** Changing what a flag or segment is: create, update, archive, restore, rules, user lists, environment configs. */
export const DEFINE_ROLES: readonly Role[] = ['admin'];
/** Running flags: kill switch (toggle), rollout changes, reverts (rollbacks of a flag), canaries, rollbacks. */
export const OPERATE_ROLES: readonly Role[] = ['admin', 'operator'];
/** Reading flags, history, analytics, outcomes, segments and the flags' audit trail. */
export const READ_ROLES: readonly Role[] = ['admin', 'operator', 'reader'];
/** Evaluating: evaluate (GET and POST), the environment snapshot an SDK evaluates locally, OFREP later. */
export const EVALUATE_ROLES: readonly Role[] = ['admin', 'operator', 'reader', 'client'];

/** Whether the principal may use a route that allows `required` (any of them); admin may use every route. */
export const mayUse = (principal: Principal, required: readonly Role[]): boolean =>
  principal.roles.includes('admin') || required.some((role) => principal.roles.includes(role));

/**
 * For a route whose body decides what it is (PUT …/environments/{env}: a toggle or a full configuration): the same
 * check and the same 403 as the guard's.
 */
export function assertMayUse(principal: Principal, required: readonly Role[], what: string): void {
  if (!mayUse(principal, required)) throw new ForbiddenError(`This token may not ${what}`, { details: { required } });
}
