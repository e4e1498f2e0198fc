// Regenerates ../src/bucketing.golden.json with an independent implementation: murmurhash3js-revisited
// hashing the bytes of Node's UTF-8 encoder. Run: node libs/evaluation/golden/generate-golden.mjs
import { writeFileSync } from 'node:fs';
import murmur from 'murmurhash3js-revisited';

const hashOf = (text) => murmur.x86.hash32(Buffer.from(text, 'utf8'), 0) >>> 0;
const bucketOf = (hash) => Math.floor((hash * 1e6) / 2 ** 32);

const cases = [
  ['my-flag', 'user-42'], ['rollout-10', 'user-1'], ['rollout-10', 'user-99999'], ['auto_submit_enabled', 'user123'],
  ['my-flag', 'Jørgen'], ['my-flag', 'Zoë'], ['my-flag', 'Crème brûlée'], ['my-flag', '李雷'], ['my-flag', '日本語のユーザー'],
  ['my-flag', '😀'], ['my-flag', 'user-👩‍💻-🚀'], ['my-flag', '\u{10FFFF}'], ['émoji-salt', 'ascii'],
  ['my-flag', ''], ['', ''], ['', 'x'], ['my-flag', '0'], ['my-flag', '42'], ['my-flag', '1234567890'],
  ['my-flag', '-1'], ['my-flag', '3.14'], ['my-flag', '9007199254740991'],
  ['my-flag:variant', 'user-42'], ['a', 'abc'], ['ab', 'cd'], ['abc', 'defg'], ['abcd', 'efghi'],
  ['k', 'a'.repeat(101)], ['k', 'ĀāĂăĄą'.repeat(7)],
];

const vectors = cases.map(([salt, unit]) => {
  const hash = hashOf(`${salt}:${unit}`);
  return { salt, unit, hash, bucket: bucketOf(hash) };
});

// Units whose buckets sit exactly on rollout boundaries: p = 100 000 (10 %) must include 99 999 and
// exclude 100 000; the extremes 0 and 999 999 must be in at p = 1 and out at p = 999 999 respectively.
const wanted = new Map([[0, null], [99_999, null], [100_000, null], [499_999, null], [500_000, null], [999_999, null]]);
for (let i = 0; i < 40_000_000 && [...wanted.values()].includes(null); i++) {
  const unit = `user-${i}`;
  const hash = hashOf(`boundary:${unit}`);
  const bucket = bucketOf(hash);
  if (wanted.has(bucket) && wanted.get(bucket) === null) wanted.set(bucket, { salt: 'boundary', unit, hash, bucket });
}
for (const [bucket, vector] of wanted) {
  if (vector === null) throw new Error(`no unit found for bucket ${bucket}`);
  vectors.push(vector);
}

const file = {
  description:
    'Golden vectors for Rollgate bucketing: hash = murmur3_x86_32(utf8(salt + ":" + unit), seed 0); ' +
    'bucket = floor(hash * 1e6 / 2^32). Computed by murmurhash3js-revisited over Buffer.from(text, "utf8").',
  vectors,
};
writeFileSync(new URL('../src/bucketing.golden.json', import.meta.url), `${JSON.stringify(file, null, 2)}\n`);
console.log(`${vectors.length} vectors`);
