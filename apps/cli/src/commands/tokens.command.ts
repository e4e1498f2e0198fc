import { Command, InvalidArgumentError } from 'commander';
import { confirmDestructive } from '../confirm.js';
import { usageError } from '../errors/cli-error.js';
import { tokenListView, tokenView } from '../output/views/token.view.js';
import { parseDuration, parsePositiveInt, parseTime } from './arguments.js';
import { action, defined, withConfirmation, withWriteOptions, writeHeaders, type RuntimeFactory } from './command-kit.js';

const ROLES = ['admin', 'operator', 'reader', 'client'];
const roleOf = (value: string): string => {
  if (!ROLES.includes(value)) throw new InvalidArgumentError(`must be one of ${ROLES.join(', ')}`);
  return value;
};
const TOKEN_ID = /^[0-9a-f]{16}$/;

/** `rollgate tokens ...`: API tokens (admin only; the secret is shown once, at issue). */
export function tokensCommand(runtimeOf: RuntimeFactory): Command {
  const tokens = new Command('tokens').description('API tokens: issue, list, revoke (admin)');

  withWriteOptions(
    tokens
      .command('issue')
      .description('issue a token for one role; its secret is shown once')
      .requiredOption('--name <name>', 'what it is for (1-100 characters)')
      .requiredOption('--role <role>', ROLES.join(', '), roleOf)
      .option('--expires-in <duration>', 'valid this long, e.g. 30d or 12h', parseDuration)
      .option('--expires-at <time>', 'valid until then (ISO-8601)', parseTime),
  ).action(
    action(runtimeOf, async (rt, _args, o) => {
      if (o['expiresIn'] !== undefined && o['expiresAt'] !== undefined) throw usageError('give --expires-in or --expires-at, not both');
      const expiresIn = o['expiresIn'] === undefined ? undefined : Math.max(1, Math.round(o['expiresIn'] / 1000));
      const body = defined({ name: o['name'], role: o['role'], expires_in: expiresIn, expires_at: o['expiresAt'], reason: o.reason });
      const token = await rt.httpWrite({ method: 'POST', path: '/tokens', body, headers: writeHeaders(o) }, o);
      if (token !== undefined) rt.printer.result(token, tokenView);
    }),
  );

  tokens
    .command('list')
    .description('tokens in the order issued (never their secrets)')
    .option('--role <role>', ROLES.join(', '), roleOf)
    .option('--status <status>', 'active, expired or revoked')
    .option('--limit <n>', 'at most this many (≤ 500)', parsePositiveInt)
    .option('--cursor <cursor>', 'the next page (from the previous answer)')
    .action(
      action(runtimeOf, async (rt, _args, o) => {
        const query = { role: o['role'], status: o['status'], limit: o['limit'], cursor: o['cursor'] };
        rt.printer.result(await rt.http.send({ method: 'GET', path: '/tokens', query }), tokenListView);
      }),
    );

  withConfirmation(withWriteOptions(tokens.command('revoke').description('revoke a token: refused from the next request on (idempotent)').argument('<id>', 'the token id (16 hex digits, as in rg_<id>_...)'))).action(
    action(runtimeOf, async (rt, [id], o) => {
      if (!TOKEN_ID.test(id!)) throw usageError('the token id is 16 hex digits (the <id> of rg_<id>_<secret>)');
      if (o.dryRun !== true) await confirmDestructive(rt.io, o.yes, `revoke token ${id}`);
      const token = await rt.httpWrite({ method: 'DELETE', path: `/tokens/${id}`, headers: writeHeaders(o) }, o);
      if (token !== undefined) rt.printer.result(token, tokenView);
    }),
  );

  return tokens;
}
