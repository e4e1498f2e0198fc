// Types for the test-only independent murmur3 (the package ships none).
declare module 'murmurhash3js-revisited' {
  const murmur: { x86: { hash32(bytes: ArrayLike<number>, seed?: number): number } };
  export default murmur;
}
