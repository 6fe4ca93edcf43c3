import { TokenBucketLimiter } from '../../src/http/rate-limit';

describe('TokenBucketLimiter', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 0;
  });

  it('admits a burst, then one request per 1/rate seconds, and says when the next token comes', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 2, burst: 3, now: clock });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now = 499;
    expect(limiter.take('a').allowed).toBe(false);
    now = 500;
    expect(limiter.take('a').allowed).toBe(true);
    // Refill is continuous (not a fixed window): never more than the rate across any edge.
    now = 10_000;
    let admitted = 0;
    for (let t = 10_000; t < 12_000; t += 10) {
      now = t;
      if (limiter.take('a').allowed) admitted++;
    }
    // The full bucket (3), then one token per 500 ms after it emptied at 10 020 ms: 10 520, 11 020, 11 520.
    expect(admitted).toBe(6);
  });

  it('keeps clients apart and forgets the least recent beyond maxClients', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxClients: 2, now: clock });
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
    expect(limiter.take('c').allowed).toBe(true);
    // 'a' was forgotten: a full bucket again. Memory stays bounded whatever the number of clients.
    expect(limiter.take('a').allowed).toBe(true);
  });

  it('is off at rate 0', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 0, burst: 1, now: clock });
    for (let i = 0; i < 100; i++) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.enabled).toBe(false);
  });
});
