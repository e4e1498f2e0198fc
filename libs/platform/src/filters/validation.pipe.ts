import { ValidationPipe, type ValidationError as ClassValidatorError } from '@nestjs/common';
import { ValidationError } from '../errors/rollgate.error.js';

/** Past this many fields the rest are summarised, so a hostile payload cannot inflate the error reply. */
const MAX_FIELDS = 50;

const collectFields = (errors: ClassValidatorError[], parent: string, into: Record<string, string[]>): void => {
  for (const error of errors) {
    const path = parent === '' ? error.property : `${parent}.${error.property}`;
    if (error.constraints) into[path] = Object.values(error.constraints);
    if (error.children?.length) collectFields(error.children, path, into);
  }
};

/** Per-field messages (`{ 'rules.0.attribute': ['attribute must be a string'] }`) from class-validator errors. */
export const validationErrorFields = (errors: ClassValidatorError[]): Record<string, string[]> => {
  const all: Record<string, string[]> = {};
  collectFields(errors, '', all);
  const entries = Object.entries(all);
  if (entries.length <= MAX_FIELDS) return all;
  return { ...Object.fromEntries(entries.slice(0, MAX_FIELDS)), '...': [`${entries.length - MAX_FIELDS} more fields`] };
};

/**
 * The one ValidationPipe for HTTP and the microservice: transform, whitelist, refuse unknown properties, and
 * throw a ValidationError (`GENERIC.VALIDATION`, details `{ fields }`) that both filters know how to send.
 */
export const createValidationPipe = (): ValidationPipe =>
  new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => {
      const fields = validationErrorFields(errors);
      const summary = Object.entries(fields)
        .slice(0, 3)
        .flatMap(([, messages]) => messages)
        .join('; ');
      return new ValidationError(`Validation failed: ${summary}`, { details: { fields } });
    },
  });
