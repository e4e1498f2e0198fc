export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token buckets per caller (`ratePerSecond` refill, twice that deep). At most `maxBuckets` callers are tracked:
 * past it the table starts over, which forgets debts but never blocks a caller that did nothing wrong.
 */
export class RateLimiter {
  private buckets = new Map<string, Bucket>();
  private readonly capacity: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly clock: () => number = Date.now,
    private readonly maxBuckets = 100_000,
  ) {
    this.capacity = ratePerSecond * 2;
  }

  take(caller: string): RateDecision {
    if (this.ratePerSecond <= 0) return { allowed: true };
    const now = this.clock();
    let bucket = this.buckets.get(caller);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxBuckets) this.buckets = new Map();
      bucket = { tokens: this.capacity, updatedAt: now };
      this.buckets.set(caller, bucket);
    } else {
      bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.updatedAt) / 1_000) * this.ratePerSecond);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond)) };
  }
}
