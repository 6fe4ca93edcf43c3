import { LRUCache } from 'lru-cache';

export interface RateLimitOptions {
  /** Tokens added per second; 0 turns limiting off. */
  ratePerSecond: number;
  /** Bucket size: the most requests a client may send at once after being idle. */
  burst: number;
  /** Clients remembered at once; the least recently seen are forgotten (a forgotten bucket is full). */
  maxClients?: number;
  now?: () => number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/**
 * A token bucket per client key: `burst` tokens at most, refilled continuously at
 * `ratePerSecond`; each request takes one. Refusals say when the next token arrives.
 *
 * Written by hand rather than with rate-limiter-flexible (tried, then dropped as a dependency): its in-memory limiters
 * count requests in fixed windows (BurstyRateLimiter combines two), so a client may send twice
 * the rate across a window edge and the retry time is the window's end, not the next token;
 * its consume() also returns a promise per request. Speed is not the reason: measured side by side
 * (1e6 decisions over 10 000 keys, load average ~10 on 2 shared cores) this bucket took 0.97 µs a
 * decision, RateLimiterMemory 4.0 µs, BurstyRateLimiter 3.4 µs, all negligible next to a request.
 * Memory is bounded by `maxClients` (LRU; lru-cache).
 */
export class TokenBucketLimiter {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly now: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.buckets = new LRUCache({ max: options.maxClients ?? 100_000 });
    this.now = options.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.options.ratePerSecond > 0;
  }

  take(key: string): RateDecision {
    const { ratePerSecond, burst } = this.options;
    if (ratePerSecond <= 0) return { allowed: true };
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond)) };
  }
}
