import { outputOptionIn, runCli } from './cli.js';
import { EXIT } from './errors/exit-codes.js';
import { fakeIo } from './testing/fake-io.js';

// No server runs here: every case ends before a request would be sent (usage errors, help, dry runs).
const env = { ROLLGATE_URL: 'http://127.0.0.1:9', ROLLGATE_TOKEN: 'secret-token-value' };

describe(runCli.name, () => {
  it('--help and --version exit 0 on stdout', async () => {
    const io = fakeIo({ env });
    expect(await runCli(['--help'], io)).toBe(EXIT.ok);
    expect(io.stdout.join('')).toContain('Usage: rollgate');
    const version = fakeIo({ env });
    expect(await runCli(['--version'], version)).toBe(EXIT.ok);
    expect(version.stdout.join('')).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('a bad argument or an unknown command is a usage error (exit 2), as JSON on stderr when stdout is a pipe', async () => {
    const io = fakeIo({ env });
    expect(await runCli(['flags', 'rollout', 'checkout', '-e', 'production', '--percentage', '101'], io)).toBe(EXIT.usage);
    expect(io.stdout).toEqual([]);
    expect(JSON.parse(io.stderr.join(''))).toEqual({ error: { code: 'CLI.USAGE', message: expect.stringContaining('0 to 100') } });
    const unknown = fakeIo({ env, tty: true });
    expect(await runCli(['flags', 'tgogle'], unknown)).toBe(EXIT.usage);
    expect(unknown.stderr.join('')).toMatch(/^error: .*\(code: CLI\.USAGE\)/);
    const missing = fakeIo({ env });
    expect(await runCli(['-o', 'json', 'flags', 'toggle', 'checkout', 'off'], missing)).toBe(EXIT.usage);
    expect(JSON.parse(missing.stderr.join('')).error.message).toContain('--environment');
  });

  it('a group without a command prints its help on stderr and exits 2', async () => {
    const io = fakeIo({ env });
    expect(await runCli(['rollbacks'], io)).toBe(EXIT.usage);
    expect(io.stderr.join('')).toContain('Usage: rollgate rollbacks');
    expect(io.stdout).toEqual([]);
  });

  it('an invalid -o is a usage error', async () => {
    const io = fakeIo({ env });
    expect(await runCli(['-o', 'yaml', 'flags', 'list'], io)).toBe(EXIT.usage);
  });

  it('--dry-run shows the request with the token hidden and sends nothing (no server listens)', async () => {
    const io = fakeIo({ env });
    expect(await runCli(['flags', 'toggle', 'checkout', 'off', '-e', 'production', '--reason', 'incident 42', '--expected-version', '7', '--dry-run'], io)).toBe(EXIT.ok);
    const shown = io.stdout.join('');
    expect(JSON.parse(shown)).toEqual({
      dry_run: true,
      request: {
        transport: 'http',
        method: 'PUT',
        url: 'http://127.0.0.1:9/api/v1/feature-flags/checkout/environments/production',
        headers: { authorization: 'Bearer ***', 'x-rollgate-reason': 'incident 42', 'if-match': '"7"' },
        body: { enabled: false },
      },
    });
    expect(shown).not.toContain('secret-token-value');
  });

  it('a destructive dry run needs no confirmation; without --yes and without a terminal the real one refuses (exit 7)', async () => {
    expect(await runCli(['rollbacks', 'emergency', 'checkout', '--dry-run'], fakeIo({ env }))).toBe(EXIT.ok);
    const io = fakeIo({ env });
    expect(await runCli(['tokens', 'revoke', '0123456789abcdef'], io)).toBe(EXIT.notConfirmed);
    expect(JSON.parse(io.stderr.join('')).error.code).toBe('CLI.NOT_CONFIRMED');
  });

  it('a request without a token says how to give one (exit 2)', async () => {
    const io = fakeIo({ env: { ROLLGATE_URL: 'http://127.0.0.1:9' } });
    expect(await runCli(['flags', 'list'], io)).toBe(EXIT.usage);
    expect(JSON.parse(io.stderr.join('')).error).toEqual({ code: 'CLI.NO_TOKEN', message: 'no token: set ROLLGATE_TOKEN or pass --token' });
  });
});

describe(outputOptionIn.name, () => {
  it('finds -o before commander has parsed anything', () => {
    expect([outputOptionIn(['-o', 'json', 'x']), outputOptionIn(['x', '--output', 'table']), outputOptionIn(['--output=json']), outputOptionIn(['--', '-o', 'json']), outputOptionIn([])]).toEqual(['json', 'table', 'json', undefined, undefined]);
  });
});
