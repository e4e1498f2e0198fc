import { CliError } from '../errors/cli-error.js';
import { resolveOutputMode } from './output-mode.js';

describe(resolveOutputMode.name, () => {
  it('defaults to a table on a terminal and JSON on a pipe', () => {
    expect(resolveOutputMode(undefined, undefined, true)).toBe('table');
    expect(resolveOutputMode(undefined, undefined, false)).toBe('json');
    expect(resolveOutputMode(undefined, '', false)).toBe('json');
  });

  it('-o wins over ROLLGATE_OUTPUT, which wins over the terminal', () => {
    expect(resolveOutputMode('json', 'table', true)).toBe('json');
    expect(resolveOutputMode(undefined, 'table', false)).toBe('table');
    expect(resolveOutputMode('table', 'json', false)).toBe('table');
  });

  it('refuses another format as a usage error', () => {
    expect(() => resolveOutputMode('yaml', undefined, true)).toThrow(CliError);
    expect(() => resolveOutputMode(undefined, 'xml', true)).toThrow(/table, json/);
  });
});
