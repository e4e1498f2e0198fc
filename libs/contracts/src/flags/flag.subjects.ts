import { subjects } from '../subjects.js';
import type { FLAG_COMMANDS } from './flag.commands.js';
import type { FLAG_QUERIES } from './flag.queries.js';
import type { OUTCOME_QUERY } from '../outcomes.js';

export type FlagCommandVerb = (typeof FLAG_COMMANDS)[keyof typeof FLAG_COMMANDS];
export type FlagQueryNoun = (typeof FLAG_QUERIES)[keyof typeof FLAG_QUERIES] | typeof OUTCOME_QUERY;

/** The flags service's request-reply subjects: `rg.cmd.flags.<verb>`, `rg.qry.flags.<noun>`. */
export const flagSubjects = {
  command: (verb: FlagCommandVerb): string => subjects.command('flags', verb),
  query: (noun: FlagQueryNoun): string => subjects.query('flags', noun),
} as const;
