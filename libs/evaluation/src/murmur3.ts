/**
 * MurmurHash3 x86_32 over the UTF-8 bytes of JS strings, without encoding them into a buffer.
 * Hand-written on purpose (docs/adr/0004-bucketing.md): the hot path hashes `salt:unit` on every
 * evaluation, and the library route (encode to a Buffer, then hash) allocates per call. The spec
 * proves this equals an independent byte-oriented implementation.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * Hash state after a prefix: the running hash, the 0-3 pending tail bytes packed little-endian, their
 * count, and the total byte length so far. Lets the salt be hashed once per flag instead of per call.
 */
export interface Murmur3State {
  readonly h: number;
  readonly k: number;
  readonly n: number;
  readonly len: number;
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, C2);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, k: number, n: number, len: number): number {
  if (n > 0) {
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Feeds the UTF-8 encoding of `s` into the state and returns the final 32-bit hash (unsigned).
 * Lone surrogates encode as U+FFFD, as TextEncoder and Buffer do.
 */
function run(h: number, k: number, n: number, len: number, s: string): number {
  const length = s.length;
  for (let i = 0; i < length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      k |= c << (n << 3);
      len++;
      if (++n === 4) {
        h = mixBlock(h, k);
        k = 0;
        n = 0;
      }
      continue;
    }
    // Pack the 2-4 UTF-8 bytes of this code point little-endian into `bytes`, then feed them.
    let bytes: number;
    let count: number;
    if (c < 0x800) {
      bytes = (0xc0 | (c >> 6)) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        bytes =
          (0xf0 | (c >> 18)) |
          ((0x80 | ((c >> 12) & 0x3f)) << 8) |
          ((0x80 | ((c >> 6) & 0x3f)) << 16) |
          ((0x80 | (c & 0x3f)) << 24);
        count = 4;
      } else {
        bytes = 0xef | (0xbf << 8) | (0xbd << 16);
        count = 3;
      }
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      bytes = (0xe0 | (c >> 12)) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
      count = 3;
    }
    for (let j = 0; j < count; j++) {
      k |= ((bytes >>> (j << 3)) & 0xff) << (n << 3);
      len++;
      if (++n === 4) {
        h = mixBlock(h, k);
        k = 0;
        n = 0;
      }
    }
  }
  return finish(h, k, n, len);
}

/** MurmurHash3 x86_32 of the UTF-8 bytes of `s`. */
export function murmur3(s: string, seed = 0): number {
  return run(seed | 0, 0, 0, 0, s);
}

/**
 * The state after hashing the UTF-8 bytes of `prefix` (not finalized). The same walk as `run`, without
 * the finalization and without encoding into a buffer first (it runs once per compiled flag).
 */
export function murmur3Prefix(prefix: string, seed = 0): Murmur3State {
  let h = seed | 0;
  let k = 0;
  let n = 0;
  let len = 0;
  const length = prefix.length;
  for (let i = 0; i < length; i++) {
    // Four ASCII characters on a block boundary make one block (salts are usually ASCII keys): this
    // runs at load, often before the JIT has compiled it, so fewer steps per byte matter.
    if (n === 0 && i + 3 < length) {
      const c0 = prefix.charCodeAt(i);
      const c1 = prefix.charCodeAt(i + 1);
      const c2 = prefix.charCodeAt(i + 2);
      const c3 = prefix.charCodeAt(i + 3);
      if ((c0 | c1 | c2 | c3) < 0x80) {
        h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
        len += 4;
        i += 3;
        continue;
      }
    }
    let c = prefix.charCodeAt(i);
    let bytes: number;
    let count: number;
    if (c < 0x80) {
      bytes = c;
      count = 1;
    } else if (c < 0x800) {
      bytes = (0xc0 | (c >> 6)) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length && prefix.charCodeAt(i + 1) >= 0xdc00 && prefix.charCodeAt(i + 1) <= 0xdfff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (prefix.charCodeAt(++i) - 0xdc00);
      bytes = (0xf0 | (c >> 18)) | ((0x80 | ((c >> 12) & 0x3f)) << 8) | ((0x80 | ((c >> 6) & 0x3f)) << 16) | ((0x80 | (c & 0x3f)) << 24);
      count = 4;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      bytes = (0xe0 | (c >> 12)) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
      count = 3;
    }
    for (let j = 0; j < count; j++) {
      k |= ((bytes >>> (j << 3)) & 0xff) << (n << 3);
      len++;
      if (++n === 4) {
        h = mixBlock(h, k);
        k = 0;
        n = 0;
      }
    }
  }
  return Object.freeze({ h, k, n, len });
}

/**
 * MurmurHash3 x86_32 of the UTF-8 bytes of `prefix + s`, given the state after `prefix`. Exact unless
 * `prefix` ends in a high surrogate that `s` would complete (bucketing prefixes end in ':').
 */
export function murmur3Continue(state: Murmur3State, s: string): number {
  return run(state.h, state.k, state.n, state.len, s);
}

/**
 * `murmur3Continue` from a state kept as three plain numbers (the pending-byte count is `len & 3`):
 * compiled flags store their salt prefix this way instead of as a separate state object.
 */
export function murmur3From(h: number, k: number, len: number, s: string): number {
  return run(h, k, len & 3, len, s);
}
