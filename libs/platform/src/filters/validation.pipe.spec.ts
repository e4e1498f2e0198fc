import { MAX_INPUT_DEPTH, createValidationPipe, inputProblems } from './validation.pipe.js';
import { ValidationError } from '../errors/rollgate.error.js';

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

describe('inputProblems', () => {
  it('accepts ordinary input, surrogate pairs included', () => {
    expect(inputProblems({ name: 'ok 😀', list: ['a', { b: [1, null, true] }] })).toEqual([]);
    expect(inputProblems(nested(MAX_INPUT_DEPTH))).toEqual([]);
  });

  it('names NULs and lone surrogates in values and keys by path', () => {
    expect(
      inputProblems({ name: 'a\u0000', tags: ['ok', '\ud800'], deep: { x: 'y\udc00' }, 'k\u0000': 1 })
        .map((p) => p.path)
        .sort(),
    ).toEqual(['deep.x', 'k\u0000', 'name', 'tags[1]'].sort());
  });

  it('refuses nesting past the limit without overflowing the stack', () => {
    expect(inputProblems(nested(MAX_INPUT_DEPTH + 1))).toHaveLength(1);
    expect(inputProblems(nested(100_000))[0]!.message).toMatch(/nested too deeply/);
  });

  it('the pipe throws GENERIC.VALIDATION before transforming, and skips custom decorators', async () => {
    const pipe = createValidationPipe();
    await expect(pipe.transform({ a: '\u0000' }, { type: 'body', metatype: Object })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(pipe.transform({ a: '\u0000' }, { type: 'custom', metatype: Object })).resolves.toEqual({
      a: '\u0000',
    });
  });
});
