import { ValidationPipe, type ArgumentMetadata, type ValidationError as ClassValidatorError } from '@nestjs/common';
import type { Problem } from '#rollgate/contracts';
import { MAX_PROBLEMS, ValidationError } from '../errors/rollgate.error.js';

const join = (parent: string, property: string): string =>
  /^\d+$/.test(property) ? `${parent}[${property}]` : parent === '' ? property : `${parent}.${property}`;

const collect = (errors: ClassValidatorError[], parent: string, into: Problem[]): void => {
  for (const error of errors) {
    const path = join(parent, error.property);
    for (const message of Object.values(error.constraints ?? {})) into.push({ path, message });
    if (error.children?.length) collect(error.children, path, into);
  }
};

/**
 * class-validator errors as problems, paths as the DTO names them (`rules[0].attribute`): snake_case over HTTP,
 * camelCase on the bus.
 */
export const validationProblems = (errors: ClassValidatorError[]): Problem[] => {
  const problems: Problem[] = [];
  collect(errors, '', problems);
  return problems;
};

/** Bodies nested deeper than this are refused before anything walks them (class-transformer, case conversion). */
export const MAX_INPUT_DEPTH = 64;

// A NUL, or a UTF-16 surrogate without its partner: Postgres jsonb (and text) refuses both.
// eslint-disable-next-line no-control-regex -- the NUL is the point
const BAD_CHARACTER = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The problems of a decoded input that no DTO can express: nesting deeper than MAX_INPUT_DEPTH, and a NUL or a
 * lone surrogate in any string or key (which the event store cannot hold). Iterative, so a hostile depth cannot
 * overflow the stack here; stops at the first depth problem and at MAX_PROBLEMS character problems.
 */
export const inputProblems = (input: unknown): Problem[] => {
  const problems: Problem[] = [];
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: input, path: '', depth: 0 }];
  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (BAD_CHARACTER.test(value))
        problems.push({ path, message: 'must not contain a NUL character or a lone UTF-16 surrogate' });
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_INPUT_DEPTH) {
      return [{ path, message: `is nested too deeply (more than ${MAX_INPUT_DEPTH} levels)` }];
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: join(path, String(i)), depth: depth + 1 }));
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = join(path, key);
      if (BAD_CHARACTER.test(key))
        problems.push({
          path: childPath,
          message: 'the field name must not contain a NUL character or a lone UTF-16 surrogate',
        });
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return problems;
};

/** ValidationPipe with the input check first (bodies, queries, params; not custom decorators such as the principal). */
class RollgateValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const problems = inputProblems(value);
      if (problems.length > 0) throw ValidationError.of(problems);
    }
    return super.transform(value, metadata);
  }
}

/**
 * The one ValidationPipe for HTTP and the microservice: refuse what the store cannot hold (see inputProblems),
 * transform, whitelist, refuse unknown properties, and throw a ValidationError (`GENERIC.VALIDATION`, details
 * `{ problems: [{ path, message }] }`) that both filters know how to send.
 */
export const createValidationPipe = (): ValidationPipe =>
  new RollgateValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => ValidationError.of(validationProblems(errors)),
  });
