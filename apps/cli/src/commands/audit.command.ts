import { Command } from 'commander';
import { usageError } from '../errors/cli-error.js';
import { auditView } from '../output/views/audit.view.js';
import { parsePositiveInt, parseTime } from './arguments.js';
import { action, type RuntimeFactory } from './command-kit.js';

const SOURCES: Record<string, string> = { flags: '/audit', rollback: '/audit', tokens: '/audit/tokens' };

/** `rollgate audit`: who changed what, oldest first, one page at a time. */
export function auditCommand(runtimeOf: RuntimeFactory): Command {
  return new Command('audit')
    .description('the audit trail: flags (default), rollback or tokens, oldest first')
    .option('--source <source>', 'flags, rollback or tokens', 'flags')
    .option('--key <key>', 'one flag, plan, execution or token id')
    .option('--by <actor>', 'changes by this actor (admin, token:<id>, ...)')
    .option('--since <time>', 'from this time', parseTime)
    .option('--until <time>', 'until this time', parseTime)
    .option('--limit <n>', 'at most this many (≤ 500)', parsePositiveInt)
    .option('--cursor <cursor>', 'the next page (from the previous answer)')
    .action(
      action(runtimeOf, async (rt, _args, o) => {
        const source = String(o['source']);
        const path = SOURCES[source];
        if (path === undefined) throw usageError(`--source must be one of ${Object.keys(SOURCES).join(', ')}`);
        const query = { source: source === 'rollback' ? 'rollback' : undefined, key: o['key'], actor: o['by'], since: o['since'], until: o['until'], limit: o['limit'], cursor: o['cursor'] };
        rt.printer.result(await rt.http.send({ method: 'GET', path, query }), auditView);
      }),
    );
}
