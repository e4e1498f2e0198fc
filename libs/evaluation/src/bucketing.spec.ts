import fc from 'fast-check';
import murmur from 'murmurhash3js-revisited';
import { readFileSync } from 'node:fs';
import { bucketFromHash, bucketOf, bucketPrefix, bucketWithPrefix } from './bucketing.js';
import { EvaluationEngine } from './evaluation.engine.js';
import type { FlagDefinition, Rollout } from './flag.model.js';
import { murmur3, murmur3Continue, murmur3From, murmur3Prefix } from './murmur3.js';

interface GoldenVector { salt: string; unit: string; hash: number; bucket: number }
const golden = JSON.parse(readFileSync(new URL('./bucketing.golden.json', import.meta.url), 'utf8')) as { vectors: GoldenVector[] };

/** The independent implementation: a byte-oriented murmur3 over Node's own UTF-8 encoding. */
const libraryHash = (text: string): number => murmur.x86.hash32(Buffer.from(text, 'utf8'), 0) >>> 0;

// Any UTF-16 sequence, lone surrogates included (they must encode as U+FFFD, as Buffer does).
const anyString = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((codes) => String.fromCharCode(...codes));

const asciiMix = fc.array(fc.oneof(fc.string({ maxLength: 9 }), anyString.map((t) => t.slice(0, 3))), { maxLength: 6 }).map((parts) => parts.join(''));

function flagWith(rollout: Rollout, key = 'prop-flag'): FlagDefinition {
  return { key, name: key, type: 'percentage', version: 1, environments: { production: { enabled: true, defaultRollout: rollout } } };
}

describe('bucketing', () => {
  describe('golden vectors', () => {
    it('covers ASCII, accents, CJK, emoji, empty strings, numeric ids and bucket boundaries', () => {
      const units = golden.vectors.map((v) => v.unit);
      expect(units).toEqual(expect.arrayContaining(['', '42', 'Zoë', '李雷', '😀']));
      expect(golden.vectors.map((v) => v.bucket)).toEqual(expect.arrayContaining([0, 99_999, 100_000, 999_999]));
    });

    it.each(golden.vectors.map((v) => [`${v.salt}:${v.unit}`, v] as const))('%s', (_name, v) => {
      expect(libraryHash(`${v.salt}:${v.unit}`)).toBe(v.hash);
      expect(murmur3(`${v.salt}:${v.unit}`)).toBe(v.hash);
      expect(bucketFromHash(v.hash)).toBe(v.bucket);
      expect(bucketOf(v.salt, v.unit)).toBe(v.bucket);
      expect(bucketWithPrefix(bucketPrefix(v.salt), v.unit)).toBe(v.bucket);
    });

    it('puts boundary units on the right side of a 10 % rollout', () => {
      const at = (bucket: number) => golden.vectors.find((v) => v.salt === 'boundary' && v.bucket === bucket)!;
      const engine = new EvaluationEngine('production');
      engine.upsert({ ...flagWith({ type: 'percentage', ppm: 100_000 }, 'boundary-flag'), salt: 'boundary' });
      expect(engine.isEnabled('boundary-flag', { userId: at(99_999).unit })).toBe(true);
      expect(engine.isEnabled('boundary-flag', { userId: at(100_000).unit })).toBe(false);
      engine.upsert({ ...flagWith({ type: 'percentage', ppm: 1 }, 'boundary-flag'), salt: 'boundary' });
      expect(engine.isEnabled('boundary-flag', { userId: at(0).unit })).toBe(true);
      engine.upsert({ ...flagWith({ type: 'percentage', ppm: 999_999 }, 'boundary-flag'), salt: 'boundary' });
      expect(engine.isEnabled('boundary-flag', { userId: at(999_999).unit })).toBe(false);
      expect(engine.isEnabled('boundary-flag', { userId: at(500_000).unit })).toBe(true);
    });
  });

  describe('fast path equals the library', () => {
    it('for any string, with and without a seed', () => {
      fc.assert(
        fc.property(anyString, fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
          expect(murmur3(s, seed)).toBe(murmur.x86.hash32(Buffer.from(s, 'utf8'), seed) >>> 0);
        }),
        { numRuns: 2_000 },
      );
    });

    it('when continuing from any salt prefix state', () => {
      fc.assert(
        fc.property(anyString, anyString, (salt, rest) => {
          // The prefix ends with ':' as in bucketing; a prefix ending in a lone high surrogate would pair
          // with a low surrogate at the start of `rest` only when concatenated.
          const prefix = `${salt}:`;
          expect(murmur3Continue(murmur3Prefix(prefix), rest)).toBe(libraryHash(prefix + rest));
        }),
        { numRuns: 2_000 },
      );
    });

    it('for a prefix state of any UTF-16 text, lone surrogates included (encoded without a buffer)', () => {
      fc.assert(
        // Mostly ASCII with non-ASCII runs too: the prefix takes four ASCII characters at a time.
        fc.property(fc.oneof(anyString, asciiMix), fc.integer({ min: 0, max: 0xffffffff }), (prefix, seed) => {
          const state = murmur3Prefix(prefix, seed);
          expect(state.len).toBe(Buffer.byteLength(prefix, 'utf8'));
          expect(state.n).toBe(state.len % 4);
          expect(murmur3Continue(state, '')).toBe(murmur.x86.hash32(Buffer.from(prefix, 'utf8'), seed) >>> 0);
        }),
        { numRuns: 2_000 },
      );
    });

    it('from the state kept as three numbers on a compiled flag (h, k, len)', () => {
      fc.assert(
        fc.property(anyString, anyString, (salt, rest) => {
          const state = murmur3Prefix(`${salt}:`);
          expect(murmur3From(state.h, state.k, state.len, rest)).toBe(libraryHash(`${salt}:${rest}`));
        }),
        { numRuns: 2_000 },
      );
    });
  });

  describe('properties', () => {
    it('same input, same bucket, in [0, 1 000 000)', () => {
      fc.assert(
        fc.property(anyString, anyString, (salt, unit) => {
          const b = bucketOf(salt, unit);
          expect(bucketOf(salt, unit)).toBe(b);
          expect(b).toBeGreaterThanOrEqual(0);
          expect(b).toBeLessThan(1_000_000);
        }),
      );
    });

    it('raising a percentage only adds units; lowering removes the most recently added first', () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 20, maxLength: 60 }),
          fc.integer({ min: 0, max: 1_000_000 }),
          fc.integer({ min: 0, max: 1_000_000 }),
          (users, a, b) => {
            const [low, high] = a <= b ? [a, b] : [b, a];
            const engine = new EvaluationEngine('production');
            const exposed = (ppm: number) => {
              engine.upsert(flagWith({ type: 'percentage', ppm }));
              return users.filter((userId) => engine.isEnabled('prop-flag', { userId }));
            };
            const atLow = exposed(low);
            const atHigh = exposed(high);
            expect(atHigh).toEqual(expect.arrayContaining(atLow));
            // The units dropped on the way down all sit above every unit that stays: last in, first out.
            const dropped = atHigh.filter((u) => !atLow.includes(u));
            const maxKept = Math.max(-1, ...atLow.map((u) => bucketOf('prop-flag', u)));
            for (const u of dropped) expect(bucketOf('prop-flag', u)).toBeGreaterThan(maxKept);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('during a ramp-up a unit in at time t stays in later', () => {
      fc.assert(
        fc.property(
          fc.string({ maxLength: 16 }),
          fc.integer({ min: 0, max: 500_000 }),
          fc.integer({ min: 500_000, max: 1_000_000 }),
          fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
          fc.integer({ min: 0, max: 10_000 }),
          fc.integer({ min: 0, max: 10_000 }),
          (userId, from, to, steps, t1, t2) => {
            const engine = new EvaluationEngine('production');
            const rollout: Rollout = { type: 'gradual', from, to, start: 1_000, end: 9_000 };
            engine.upsert(flagWith(steps === undefined ? rollout : { ...rollout, steps }));
            const [early, late] = t1 <= t2 ? [t1, t2] : [t2, t1];
            if (engine.isEnabled('prop-flag', { userId }, early)) expect(engine.isEnabled('prop-flag', { userId }, late)).toBe(true);
          },
        ),
        { numRuns: 1_000 },
      );
    });

    it('over 100 000 ids the observed share is within tolerance of the configured one', () => {
      const engine = new EvaluationEngine('production');
      for (const [ppm, key] of [[100_000, 'share-10'], [500_000, 'share-50'], [12_345, 'share-1']] as const) {
        engine.upsert(flagWith({ type: 'percentage', ppm }, key));
        let on = 0;
        for (let i = 0; i < 100_000; i++) if (engine.isEnabled(key, { userId: `user-${i}` })) on++;
        const p = ppm / 1_000_000;
        // 4 standard deviations of a binomial share: fails by chance about once in 16 000 runs of a fixed set.
        expect(Math.abs(on / 100_000 - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / 100_000));
      }
    });
  });
});
