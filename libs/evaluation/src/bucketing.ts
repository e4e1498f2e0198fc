import { murmur3, murmur3Continue, murmur3Prefix, type Murmur3State } from './murmur3.js';
import { PPM_MAX } from './flag.model.js';

/**
 * Normative (design.md §5): bucket = floor(murmur3_x86_32(utf8(salt + ":" + unit), seed 0) * 1e6 / 2^32),
 * in [0, 1 000 000). A unit is in a rollout of p ppm iff bucket < p. h * 1e6 < 2^53, so the float
 * arithmetic is exact.
 */
export function bucketFromHash(hash: number): number {
  return Math.floor((hash * PPM_MAX) / 4294967296);
}

export function bucketOf(salt: string, unit: string): number {
  return bucketFromHash(murmur3(`${salt}:${unit}`));
}

/** Precomputes the hash of `salt + ":"` so that each evaluation only hashes the unit. */
export function bucketPrefix(salt: string): Murmur3State {
  return murmur3Prefix(`${salt}:`);
}

export function bucketWithPrefix(prefix: Murmur3State, unit: string): number {
  return bucketFromHash(murmur3Continue(prefix, unit));
}

/** The salt variant splits hash with: independent of the rollout's buckets. */
export function variantSalt(salt: string): string {
  return `${salt}:variant`;
}
