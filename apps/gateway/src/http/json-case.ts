// The HTTP naming rule lives in the contracts lib (the CLI speaks it too); the gateway's imports stay as they were.
export { camelToSnake, pathToSnakeCase, snakeToCamel, toCamelCase, toSnakeCase } from '#rollgate/contracts';
