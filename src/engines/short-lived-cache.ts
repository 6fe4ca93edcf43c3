import { performance } from 'node:perf_hooks';

/** Lookups a cache answered and did not answer; read by /metrics (hit ratio per cache). */
export interface CacheCounts {
  hits: number;
  misses: number;
}

export function newCacheCounts(): CacheCounts {
  return { hits: 0, misses: 0 };
}

/**
 * Per-user state reused for a moment: one hybrid request asks an engine about the same user
 * twice (recommend, then scoring the other engines' candidates). Entries expire after `ttlMs`, or
 * the lifetime `set` was given; the oldest is evicted past `maxEntries`, and owners delete a user's
 * entry when they rate.
 */
export class ShortLivedCache<K, V> {
  private readonly entries = new Map<K, { expiresAt: number; value: V }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
    private readonly now: () => number = () => performance.now(),
    /** Shared by the caches of one kind (one per user) so they count as one. */
    readonly counts: CacheCounts = newCacheCounts(),
  ) {}

  get(key: K): V | undefined {
    return this.getValid(key, () => true);
  }

  /**
   * The entry when it is young enough and `valid` accepts it (computed from the same inputs);
   * counted as a hit only then.
   */
  getValid(key: K, valid: (value: V) => boolean): V | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() >= entry.expiresAt) this.entries.delete(key);
    else if (entry && valid(entry.value)) {
      this.counts.hits++;
      return entry.value;
    }
    this.counts.misses++;
    return undefined;
  }

  /**
   * The entry even past its age, saying whether it is: for callers that answer with the old value
   * while they fetch a new one (see refreshingRead).
   */
  peek(key: K): { value: V; expired: boolean } | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    return { value: entry.value, expired: this.now() >= entry.expiresAt };
  }

  set(key: K, value: V, ttlMs = this.ttlMs): void {
    this.entries.delete(key);
    this.entries.set(key, { expiresAt: this.now() + ttlMs, value });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * Values by id through a cache that never makes a caller wait for what it already holds: ids never
 * read are read (one call for all), ids past their age are answered from the cache and re-read in
 * the background (one call per batch, at most one in flight per id). Under load every round trip
 * waits for the whole event loop, so a wave of expiries must not become a wave of slow requests.
 */
export async function refreshingRead<V extends { id: number }>(
  ids: Iterable<number>,
  cache: ShortLivedCache<number, V>,
  refreshing: Set<number>,
  read: (ids: number[]) => Promise<V[]>,
): Promise<V[]> {
  const found: V[] = [];
  const missing: number[] = [];
  const stale: number[] = [];
  for (const id of new Set(ids)) {
    const hit = cache.peek(id);
    if (!hit) missing.push(id);
    else {
      found.push(hit.value);
      if (hit.expired && !refreshing.has(id)) stale.push(id);
    }
  }
  if (stale.length > 0) {
    for (const id of stale) refreshing.add(id);
    read(stale)
      .then((rows) => {
        const seen = new Set(rows.map((row) => row.id));
        for (const row of rows) cache.set(row.id, row);
        // Gone from the source: no longer answered.
        for (const id of stale) if (!seen.has(id)) cache.delete(id);
      })
      .catch(() => undefined) // the old values stay; the next request past their age retries
      .finally(() => {
        for (const id of stale) refreshing.delete(id);
      });
  }
  if (missing.length === 0) return found;
  const rows = await read(missing);
  for (const row of rows) cache.set(row.id, row);
  return found.concat(rows);
}
