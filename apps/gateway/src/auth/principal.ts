/** Roles of the HTTP API. `admin` may do everything; the others come with per-role tokens (next issue). */
export const ROLES = ['admin', 'operator', 'reader', 'client'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling. `id` becomes the `actor` of every command envelope, hence of every event's metadata. */
export interface Principal {
  id: string;
  roles: readonly Role[];
}

/** Turns a bearer token into a principal, or undefined when the token is unknown. */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<Principal | undefined> | Principal | undefined;
}

export const TOKEN_AUTHENTICATOR = Symbol('TOKEN_AUTHENTICATOR');

/** Role sets used on routes: writes, reads, evaluations. */
export const WRITE_ROLES: readonly Role[] = ['admin', 'operator'];
export const READ_ROLES: readonly Role[] = ['admin', 'operator', 'reader'];
export const EVALUATE_ROLES: readonly Role[] = ['admin', 'operator', 'reader', 'client'];
