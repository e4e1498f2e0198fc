import { RateLimiter } from './rate-limiter.js';

describe(RateLimiter.name, () => {
  it('lets a burst of twice the rate through, then refuses with the seconds until the next token', () => {
    let now = 0;
    const limiter = new RateLimiter(5, () => now);
    for (let i = 0; i < 10; i++) expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // Another caller has its own bucket.
    expect(limiter.take('b')).toEqual({ allowed: true });
    now += 200; // one token back at 5/s
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('refuses nothing at rate 0', () => {
    const limiter = new RateLimiter(0);
    for (let i = 0; i < 1_000; i++) expect(limiter.take('a').allowed).toBe(true);
  });

  it('forgets every caller rather than grow past its table size', () => {
    const limiter = new RateLimiter(1, () => 0, 2);
    limiter.take('a');
    limiter.take('a');
    expect(limiter.take('a').allowed).toBe(false);
    limiter.take('b');
    limiter.take('c'); // the table is full: it starts over
    expect(limiter.take('a').allowed).toBe(true);
  });
});
