import { ValidationPipe, type ValidationError as ClassValidatorError } from '@nestjs/common';
import type { Problem } from '#rollgate/contracts';
import { ValidationError } from '../errors/rollgate.error.js';

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

/**
 * The one ValidationPipe for HTTP and the microservice: transform, whitelist, refuse unknown properties, and
 * throw a ValidationError (`GENERIC.VALIDATION`, details `{ problems: [{ path, message }] }`) that both filters
 * know how to send.
 */
export const createValidationPipe = (): ValidationPipe =>
  new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => ValidationError.of(validationProblems(errors)),
  });
