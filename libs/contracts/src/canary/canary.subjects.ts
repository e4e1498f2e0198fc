import { subjects } from '../subjects.js';
import type { CANARY_COMMANDS } from './canary.commands.js';
import type { CANARY_QUERIES } from './canary.queries.js';

export type CanaryCommandVerb = (typeof CANARY_COMMANDS)[keyof typeof CANARY_COMMANDS];
export type CanaryQueryNoun = (typeof CANARY_QUERIES)[keyof typeof CANARY_QUERIES];

/** `rg.cmd.canary.<verb>`, `rg.qry.canary.<noun>`. */
export const canarySubjects = {
  command: (verb: CanaryCommandVerb): string => subjects.command('canary', verb),
  query: (noun: CanaryQueryNoun): string => subjects.query('canary', noun),
} as const;

/** `rg.cmd.rollback.trigger`: where a regression decision asks the rollback service for an automatic execution. */
export const ROLLBACK_TRIGGER_SUBJECT = subjects.command('rollback', 'trigger');
