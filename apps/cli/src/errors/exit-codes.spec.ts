import { httpStatusOf } from '#rollgate/contracts';
import { CliCodes } from './cli-error.js';
import { EXIT, exitCodeOf } from './exit-codes.js';

describe(exitCodeOf.name, () => {
  it.each([
    ['GENERIC.VALIDATION', EXIT.usage],
    ['GENERIC.UNAUTHORIZED', EXIT.auth],
    ['GENERIC.FORBIDDEN', EXIT.auth],
    ['FLAGS.NOT_FOUND', EXIT.notFound],
    ['ROLLBACK.TARGET_NOT_FOUND', EXIT.notFound],
    ['TOKENS.NOT_FOUND', EXIT.notFound],
    ['FLAGS.ALREADY_EXISTS', EXIT.conflict],
    ['FLAGS.VERSION_CONFLICT', EXIT.conflict],
    ['ROLLBACK.INVALID_STATE', EXIT.conflict],
    ['ROLLBACK.TARGET_IN_USE', EXIT.conflict],
    ['CANARY.PROMOTION_CONFLICT', EXIT.conflict],
    ['FLAGS.IDEMPOTENCY_KEY_REUSED', EXIT.usage],
    ['FLAGS.DEFINITION_TOO_LARGE', EXIT.usage],
    ['GENERIC.UNAVAILABLE', EXIT.unavailable],
    ['GENERIC.TIMEOUT', EXIT.unavailable],
    ['GENERIC.INTERNAL', EXIT.failure],
  ])('a server code %s exits %d, over HTTP or the bus alike', (code, exit) => {
    expect(exitCodeOf(code)).toBe(exit);
    expect(exitCodeOf(code, httpStatusOf(code))).toBe(exit);
  });

  it.each([
    [CliCodes.usage, EXIT.usage],
    [CliCodes.noToken, EXIT.usage],
    [CliCodes.natsConfig, EXIT.usage],
    [CliCodes.unreachable, EXIT.unavailable],
    [CliCodes.notConfirmed, EXIT.notConfirmed],
    [CliCodes.watchTimeout, EXIT.watchTimeout],
    [CliCodes.rollbackIncomplete, EXIT.rollbackIncomplete],
    [CliCodes.canaryRegressed, EXIT.canaryRegressed],
    [CliCodes.canaryNotPromoted, EXIT.canaryNotPromoted],
  ])("the CLI's own %s exits %d", (code, exit) => {
    expect(exitCodeOf(code)).toBe(exit);
  });

  it('an unknown code falls back to the HTTP status it came with, else 1', () => {
    expect(exitCodeOf('HTTP.502', 502)).toBe(EXIT.failure);
    expect(exitCodeOf('PROXY.SOMETHING', 404)).toBe(EXIT.notFound);
    expect(exitCodeOf('PROXY.SOMETHING', 401)).toBe(EXIT.auth);
    expect(exitCodeOf('PROXY.SOMETHING')).toBe(EXIT.failure);
  });

  it('keeps every exit code distinct (scripts switch on them)', () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
