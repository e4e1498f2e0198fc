import { usageError } from '../errors/cli-error.js';

export const OUTPUT_MODES = ['table', 'json'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

/**
 * ldcli's rule: `-o` wins, then ROLLGATE_OUTPUT, then the terminal: tables for a person, JSON when stdout is a
 * pipe or a file (a script never parses a table by accident).
 */
export function resolveOutputMode(option: string | undefined, env: string | undefined, stdoutIsTty: boolean): OutputMode {
  const chosen = option ?? (env === '' ? undefined : env);
  if (chosen === undefined) return stdoutIsTty ? 'table' : 'json';
  if ((OUTPUT_MODES as readonly string[]).includes(chosen)) return chosen as OutputMode;
  throw usageError(`output must be one of ${OUTPUT_MODES.join(', ')} (got "${chosen}")`);
}
