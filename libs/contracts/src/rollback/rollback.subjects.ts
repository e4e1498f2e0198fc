import { subjects } from '../subjects.js';
import type { ROLLBACK_COMMANDS } from './rollback.commands.js';
import type { ROLLBACK_QUERIES } from './rollback.queries.js';

export type RollbackCommandVerb = (typeof ROLLBACK_COMMANDS)[keyof typeof ROLLBACK_COMMANDS];
export type RollbackQueryNoun = (typeof ROLLBACK_QUERIES)[keyof typeof ROLLBACK_QUERIES];

/** `rg.cmd.rollback.<verb>`, `rg.qry.rollback.<noun>`; `rg.cmd.canary.end` is what an end_canary step sends. */
export const rollbackSubjects = {
  command: (verb: RollbackCommandVerb): string => subjects.command('rollback', verb),
  query: (noun: RollbackQueryNoun): string => subjects.query('rollback', noun),
  canaryEnd: subjects.command('canary', 'end'),
} as const;
