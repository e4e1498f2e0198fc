import { httpStatusOf } from '#rollgate/contracts';
import { CliCodes } from './cli-error.js';

/** What `rollgate` exits with (docs/cli.md "Exit codes"); scripts switch on these, so they never change meaning. */
export const EXIT = {
  ok: 0,
  /** Anything not classified below: a server fault (5xx), an unexpected answer. */
  failure: 1,
  /** Bad arguments, or the server refused the request as invalid (400, 413, 422). */
  usage: 2,
  /** No, unknown, revoked or expired token (401), or the token's role may not (403). */
  auth: 3,
  notFound: 4,
  /** The target's state refuses the command (409): exists, in use, version conflict, invalid state. */
  conflict: 5,
  /** Gateway or NATS unreachable, no service answering (503), a bus or HTTP timeout (504). */
  unavailable: 6,
  /** A destructive command without --yes and without a terminal to confirm on. */
  notConfirmed: 7,
  /** --watch ran out of --timeout before the rollback or canary reached an end. */
  watchTimeout: 8,
  /** --watch: the rollback ended failed, cancelled or preempted. */
  rollbackIncomplete: 10,
  /** --watch: the canary regressed (rolled back, rolling back, or paused on a regression). */
  canaryRegressed: 11,
  /** --watch: the canary ended without a promotion and without a regression (cancelled, inconclusive). */
  canaryNotPromoted: 12,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const CLI_EXITS: Record<string, ExitCode> = {
  [CliCodes.usage]: EXIT.usage,
  [CliCodes.noToken]: EXIT.usage,
  [CliCodes.natsConfig]: EXIT.usage,
  [CliCodes.unreachable]: EXIT.unavailable,
  [CliCodes.notConfirmed]: EXIT.notConfirmed,
  [CliCodes.watchTimeout]: EXIT.watchTimeout,
  [CliCodes.rollbackIncomplete]: EXIT.rollbackIncomplete,
  [CliCodes.canaryRegressed]: EXIT.canaryRegressed,
  [CliCodes.canaryNotPromoted]: EXIT.canaryNotPromoted,
};

const exitOfStatus = (status: number): ExitCode => {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 503 || status === 504) return EXIT.unavailable;
  if (status >= 400 && status < 500) return EXIT.usage;
  return EXIT.failure;
};

/**
 * The exit code of a failure with `code`: the CLI's own codes by table, a server's code by the HTTP status it
 * stands for (the platform's suffix rule, so a bus reply and an HTTP answer with the same code exit alike).
 */
export function exitCodeOf(code: string, status?: number): ExitCode {
  const own = CLI_EXITS[code];
  if (own !== undefined) return own;
  const byCode = httpStatusOf(code);
  return exitOfStatus(byCode === 500 && status !== undefined ? status : byCode);
}
