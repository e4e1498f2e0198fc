import { KEY_PATTERN, type EvaluateFlagQuery } from '#rollgate/contracts';
import { ValidationError } from '#rollgate/platform';
import type { EvaluateFeatureFlagDto } from './feature-flag-query.dto.js';

/** The seed evaluates in production unless told otherwise. */
export const DEFAULT_EVALUATION_ENVIRONMENT = 'production';
const RESERVED = new Set(['environment', 'user_id', 'as_of']);
const MAX_ATTRIBUTES = 100;
const MAX_VALUE_LENGTH = 1_024;
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

const invalid = (fields: Record<string, string[]>): ValidationError =>
  ValidationError.of(Object.entries(fields).flatMap(([path, messages]) => messages.map((message) => ({ path, message }))));

/** `user_id` is the seed's name for the engine's default stickiness attribute `userId`. */
const contextWithUser = (context: Record<string, unknown>, userId: string | undefined): Record<string, unknown> => {
  const { user_id: snakeUser, ...rest } = context;
  const user = userId ?? (typeof snakeUser === 'string' ? snakeUser : undefined);
  if (snakeUser !== undefined && typeof snakeUser !== 'string') throw invalid({ 'context.user_id': ['must be a string'] });
  return user === undefined ? rest : { ...rest, userId: user };
};

/**
 * GET /feature-flags/{key}/evaluate?user_id=&environment=&as_of=&<attribute>=<value>: every other query
 * parameter becomes a string context attribute. Validated by hand because the attribute names are open.
 */
export const evaluationFromQuery = (key: string, query: Record<string, unknown>): EvaluateFlagQuery => {
  const fields: Record<string, string[]> = {};
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      fields[name] = ['must be given once'];
      return undefined;
    }
    return value;
  };
  const environment = text('environment') ?? DEFAULT_EVALUATION_ENVIRONMENT;
  if (!KEY_PATTERN.test(environment)) fields['environment'] = [`must match ${KEY_PATTERN.source}`];
  const userId = text('user_id');
  if (userId !== undefined && userId.length > 256) fields['user_id'] = ['must be at most 256 characters'];
  const asOf = text('as_of');
  if (asOf !== undefined && (!ISO_TIME.test(asOf) || Number.isNaN(Date.parse(asOf)))) fields['as_of'] = ['must be an ISO-8601 time'];

  const context: Record<string, unknown> = {};
  const attributes = Object.keys(query).filter((name) => !RESERVED.has(name));
  if (attributes.length > MAX_ATTRIBUTES) fields['query'] = [`at most ${MAX_ATTRIBUTES} attributes`];
  for (const name of attributes.slice(0, MAX_ATTRIBUTES)) {
    const value = text(name);
    if (!ATTRIBUTE_NAME.test(name)) fields[name] = ['is not a valid attribute name'];
    else if (value !== undefined && value.length > MAX_VALUE_LENGTH) fields[name] = [`must be at most ${MAX_VALUE_LENGTH} characters`];
    else if (value !== undefined) context[name] = value;
  }
  if (Object.keys(fields).length > 0) throw invalid(fields);
  if (userId !== undefined) context['userId'] = userId;
  return asOf === undefined ? { key, environment, context } : { key, environment, context, asOf };
};

/** POST /feature-flags/{key}/evaluate body → the query. */
export const evaluationFromBody = (key: string, body: EvaluateFeatureFlagDto): EvaluateFlagQuery => {
  const query: EvaluateFlagQuery = {
    key,
    environment: body.environment ?? DEFAULT_EVALUATION_ENVIRONMENT,
    context: contextWithUser(body.context ?? {}, body.user_id),
  };
  if (body.as_of !== undefined) query.asOf = body.as_of;
  if (body.default_value !== undefined) query.defaultValue = body.default_value;
  return query;
};
