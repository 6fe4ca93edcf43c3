import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import { CacheCounts, newCacheCounts } from './counts';
import { Versions } from './versions';

/**
 * THE FRESHNESS RULE, for every cache of the service (docs/ARCHITECTURE.md, "What a request reads
 * from memory"):
 *
 *   An entry is fresh when
 *   (1) the version it was computed from equals the version the caller holds now — a user's ratings
 *       version, the active model version, the content index generation, or a stamp made of them —,
 *   (2) the catalog version it was computed under equals the one this instance knows, and
 *   (3) only for values computed from everybody's ratings, which carry no version (a cache made
 *       with maxAgeMs): it is younger than maxAgeMs.
 *   A fresh entry is answered. An entry whose version (1, 2) is outdated is never answered: the
 *   caller computes anew and waits. An entry only past its age (3) is answered by `get` as a miss,
 *   and by `getOrLoad(…, { staleWhileRevalidate: true })` once more while one background load
 *   replaces it.
 *
 * Versions reach an instance as notices (LISTEN/NOTIFY, or in-process after a local commit) and are
 * held in memory (Versions), so checking an entry costs a comparison of numbers, never a round trip.
 * Every cache is bounded (least recently used goes first).
 */
export type Version = number | string;

export interface VersionedCacheOptions {
  /** Entries kept at most. */
  max: number;
  /** Where the catalog version (rule 2) is read; absent: the cache depends on no catalog. */
  versions?: Versions | null;
  /** Rule 3; absent: entries do not age. */
  maxAgeMs?: number;
  now?: () => number;
  /** Shared by caches of one kind (one per user state) so they count as one in /metrics. */
  counts?: CacheCounts;
  /**
   * For caches read with `get` only, which never answer an entry past its age: each `set` drops
   * such entries from the least recently used end, so under distinct keys the cache holds what the
   * last maxAgeMs stored rather than `max` entries, most of them dead.
   */
  forgetAged?: boolean;
}

interface Entry<V> {
  value: V;
  version: Version;
  catalog: number;
  at: number;
  maxAgeMs: number;
}

export class VersionedCache<K extends NonNullable<unknown>, V> {
  private readonly entries: LRUCache<K, Entry<V>>;
  private readonly loading = new Map<K, { version: Version; value: Promise<V> }>();
  private readonly versions: Versions | null;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly forgetAged: boolean;
  readonly counts: CacheCounts;

  constructor(options: VersionedCacheOptions) {
    this.entries = new LRUCache<K, Entry<V>>({ max: options.max });
    this.versions = options.versions ?? null;
    this.maxAgeMs = options.maxAgeMs ?? Infinity;
    this.now = options.now ?? (() => performance.now());
    this.counts = options.counts ?? newCacheCounts();
    this.forgetAged = options.forgetAged ?? false;
  }

  /** The catalog version an entry computed from now would carry; take it before reading. */
  catalog(): number {
    return this.versions?.catalog ?? 0;
  }

  private state(entry: Entry<V> | undefined, version: Version): 'fresh' | 'aged' | 'outdated' {
    if (!entry || entry.version !== version || entry.catalog !== this.catalog()) return 'outdated';
    return this.now() - entry.at < entry.maxAgeMs ? 'fresh' : 'aged';
  }

  /** The entry when it is fresh for `version`; counted as a hit only then. */
  get(key: K, version: Version): V | undefined {
    const entry = this.entries.get(key);
    if (entry && this.state(entry, version) === 'fresh') {
      this.counts.hits++;
      return entry.value;
    }
    this.counts.misses++;
    return undefined;
  }

  /**
   * Stores what was computed from `version`. `catalog` is the catalog version taken before the
   * inputs were read (default: now); `maxAgeMs` overrides the cache's for this entry.
   */
  set(key: K, value: V, version: Version, options: { catalog?: number; maxAgeMs?: number } = {}): void {
    const at = this.now();
    if (this.forgetAged) this.dropAgedLeastRecent(at);
    this.entries.set(key, {
      value,
      version,
      catalog: options.catalog ?? this.catalog(),
      at,
      maxAgeMs: options.maxAgeMs ?? this.maxAgeMs,
    });
  }

  /**
   * Drops aged entries from the least recently used end, up to the first one still fresh: amortised
   * one check per set (an entry aged behind a fresh one waits for its turn or for `max`).
   */
  private dropAgedLeastRecent(now: number): void {
    for (;;) {
      const key = this.entries.rkeys().next();
      if (key.done) return;
      const entry = this.entries.peek(key.value);
      if (!entry || now - entry.at < entry.maxAgeMs) return;
      this.entries.delete(key.value);
    }
  }

  /**
   * The fresh entry, or `load()`'s value stored under `version`; callers asking for the same key and
   * version meanwhile share one load. A failed load is not remembered.
   */
  getOrLoad(
    key: K,
    version: Version,
    load: () => Promise<V>,
    options: { staleWhileRevalidate?: boolean } = {},
  ): Promise<V> {
    const entry = this.entries.get(key);
    const state = this.state(entry, version);
    if (state === 'fresh' || (state === 'aged' && options.staleWhileRevalidate)) {
      this.counts.hits++;
      if (state === 'aged') this.startLoad(key, version, load).catch(() => undefined);
      return Promise.resolve((entry as Entry<V>).value);
    }
    this.counts.misses++;
    return this.startLoad(key, version, load);
  }

  private startLoad(key: K, version: Version, load: () => Promise<V>): Promise<V> {
    const pending = this.loading.get(key);
    if (pending && pending.version === version) return pending.value;
    const catalog = this.catalog();
    const value = load();
    const loading = { version, value };
    this.loading.set(key, loading);
    value.then(
      (loaded) => {
        // Cleared, deleted or overtaken by a load for another version meanwhile: not kept.
        if (this.loading.get(key) !== loading) return;
        this.loading.delete(key);
        this.set(key, loaded, version, { catalog });
      },
      () => {
        if (this.loading.get(key) === loading) this.loading.delete(key);
      },
    );
    return value;
  }

  delete(key: K): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.loading.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
