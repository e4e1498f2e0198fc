import { BadRequestException, NotFoundException, PayloadTooLargeException, InternalServerErrorException } from '@nestjs/common';
import { ErrorCodes } from '#rollgate/contracts';
import { toErrorResponse } from './error-response.js';
import { httpStatusOf } from './http-status.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RollgateError,
  TimeoutError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
} from './rollgate.error.js';

describe(RollgateError.name, () => {
  it('carries code, details and cause and serialises to the wire body', () => {
    const cause = new Error('pg: duplicate key');
    const error = new RollgateError('FLAGS.EXISTS', 'Flag x exists', { details: { key: 'x' }, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(error))).toEqual({ code: 'FLAGS.EXISTS', message: 'Flag x exists', details: { key: 'x' } });
    expect(new RollgateError('FLAGS.EXISTS', 'm').toJSON()).toEqual({ code: 'FLAGS.EXISTS', message: 'm' });
  });

  it('gives each generic subclass its default code and lets a feature pass its own', () => {
    expect(
      [
        new ValidationError('m'),
        new NotFoundError('m'),
        new UnauthorizedError('m'),
        new ForbiddenError('m'),
        new ConflictError('m'),
        new TimeoutError('m'),
        new UnavailableError('m'),
      ].map((e) => [e.name, e.code, httpStatusOf(e.code)]),
    ).toEqual([
      ['ValidationError', 'GENERIC.VALIDATION', 400],
      ['NotFoundError', 'GENERIC.NOT_FOUND', 404],
      ['UnauthorizedError', 'GENERIC.UNAUTHORIZED', 401],
      ['ForbiddenError', 'GENERIC.FORBIDDEN', 403],
      ['ConflictError', 'GENERIC.CONFLICT', 409],
      ['TimeoutError', 'GENERIC.TIMEOUT', 504],
      ['UnavailableError', 'GENERIC.UNAVAILABLE', 503],
    ]);
    const conflict = new ConflictError('stale', { code: ErrorCodes.versionConflict, details: { expected: 3 } });
    expect(conflict).toBeInstanceOf(RollgateError);
    expect(conflict.toJSON()).toEqual({ code: 'STORE.VERSION_CONFLICT', message: 'stale', details: { expected: 3 } });
  });

  it('rebuilds an error from a bus reply body and refuses a malformed one', () => {
    const rebuilt = RollgateError.fromBody({ code: 'FLAGS.NOT_FOUND', message: 'no flag', details: { key: 'k' } });
    expect(rebuilt).toBeInstanceOf(RollgateError);
    expect(rebuilt.toJSON()).toEqual({ code: 'FLAGS.NOT_FOUND', message: 'no flag', details: { key: 'k' } });
    for (const bad of [undefined, 'boom', { message: 'no code' }, { code: 'lowercase', message: 'x' }]) {
      expect(RollgateError.fromBody(bad).code).toBe('GENERIC.INTERNAL');
    }
  });
});

describe(ValidationError.name, () => {
  it('carries one list of problems, capped, and names the first ones in its message', () => {
    const error = ValidationError.of([{ path: 'rollout_percentage', message: 'must not be greater than 100' }]);
    expect(error.toJSON()).toEqual({
      code: 'GENERIC.VALIDATION',
      message: 'Validation failed: rollout_percentage must not be greater than 100',
      details: { problems: [{ path: 'rollout_percentage', message: 'must not be greater than 100' }] },
    });
    const many = ValidationError.of(Array.from({ length: 60 }, (_, i) => ({ path: `f${i}`, message: 'bad' })));
    const problems = (many.details as { problems: Array<{ path: string; message: string }> }).problems;
    expect(problems).toHaveLength(51);
    expect(problems[50]).toEqual({ path: '...', message: '10 more problems' });
  });
});

describe(httpStatusOf.name, () => {
  it.each([
    ['GENERIC.VALIDATION', 400],
    ['FLAGS.NOT_FOUND', 404],
    ['FLAGS.FLAG_NOT_FOUND', 404],
    ['AUTH.UNAUTHORIZED', 401],
    ['AUTH.FORBIDDEN', 403],
    ['STORE.VERSION_CONFLICT', 409],
    ['FLAGS.CONFLICT', 409],
    ['STORE.STREAM_EXISTS', 409],
    ['FLAGS.EXISTS', 409],
    ['CANARY.INVALID_STATE', 409],
    ['FLAGS.ARCHIVED', 409],
    ['FLAGS.SEGMENT_IN_USE', 409],
    ['GENERIC.PAYLOAD_TOO_LARGE', 413],
    ['FLAGS.EVENT_TOO_LARGE', 413],
    ['FLAGS.DEFINITION_TOO_LARGE', 413],
    ['FLAGS.IDEMPOTENCY_KEY_REUSED', 422],
    ['BUS.TIMEOUT', 504],
    ['BUS.UNAVAILABLE', 503],
    ['GENERIC.INTERNAL', 500],
    ['FLAGS.SOMETHING_ELSE', 500],
    // a suffix inside a word is not a match
    ['FLAGS.NOTEXISTS', 500],
  ])('%s → %i', (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
  });
});

describe(toErrorResponse.name, () => {
  it('maps a RollgateError by its code, marking only 500s unexpected', () => {
    expect(toErrorResponse(new NotFoundError('gone'))).toEqual({
      status: 404,
      body: { code: 'GENERIC.NOT_FOUND', message: 'gone' },
      unexpected: false,
    });
    expect(toErrorResponse(new RollgateError('FLAGS.WEIRD', 'w')).unexpected).toBe(true);
  });

  it('maps Nest HttpExceptions by status, keeping validation messages', () => {
    expect(toErrorResponse(new BadRequestException(['name must be a string']))).toEqual({
      status: 400,
      body: { code: 'GENERIC.VALIDATION', message: 'Validation failed', details: { problems: [{ path: '', message: 'name must be a string' }] } },
      unexpected: false,
    });
    expect(toErrorResponse(new NotFoundException('Cannot GET /x')).body.code).toBe('GENERIC.NOT_FOUND');
    expect(toErrorResponse(new PayloadTooLargeException()).body.code).toBe('GENERIC.PAYLOAD_TOO_LARGE');
  });

  it('hides the message of unknown errors and server-side HttpExceptions', () => {
    for (const error of [new Error('password=hunter2'), new InternalServerErrorException('db password=hunter2'), 'x']) {
      expect(toErrorResponse(error)).toEqual({
        status: 500,
        body: { code: 'GENERIC.INTERNAL', message: 'Internal error' },
        unexpected: true,
      });
    }
  });
});
