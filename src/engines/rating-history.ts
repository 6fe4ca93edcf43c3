import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { primaryReads, Reads } from '../db/read-routing';
import { CacheCounts, newCacheCounts } from './short-lived-cache';

/** One of a user's ratings as the engines need it. */
export interface RatedMovie {
  movieId: number;
  rating: number;
  /** Unix seconds. */
  ratedAt: number;
}

/** Where engines read a user's ratings; an unknown user has none. */
export interface RatingHistorySource {
  historyOf(userId: number): Promise<readonly RatedMovie[]>;
}

/**
 * How long engines keep what they computed from one user's ratings. They reuse it only for the very
 * array historyOf handed them (the same one while nothing changed), so age is no reason to drop it;
 * the entry count of their caches (the oldest of 1000 users goes first) bounds memory.
 */
export const USER_STATE_TTL_MS = 30 * 60_000;

/**
 * Straight from the ratings table, one statement per call: a user's own read (Reads.ofUser), so
 * right after their write it comes from the primary.
 */
export class SqlRatingHistory implements RatingHistorySource {
  private readonly reads: Reads;

  constructor(db: DataSource, reads: Reads = primaryReads(db)) {
    this.reads = reads;
  }

  async historyOf(userId: number): Promise<readonly RatedMovie[]> {
    const rows: { movie_id: number; rating: number; rated_at: number }[] = await this.reads.ofUser(
      userId,
      (db) =>
        db.query(
          `SELECT movie_id, rating, extract(epoch FROM rated_at)::float8 AS rated_at
             FROM ratings WHERE user_id = $1 ORDER BY movie_id`,
          [userId],
        ),
    );
    return rows.map((row) => ({ movieId: row.movie_id, rating: row.rating, ratedAt: row.rated_at }));
  }
}

export interface RatingHistoryCacheOptions {
  /**
   * Past this age a user's ratings are re-read in the background (the old ones answer meanwhile):
   * it bounds how long a change made outside this process (an import, another server) goes
   * unseen. Changes made through this process call forget() and are seen at once.
   */
  ttlMs?: number;
  maxUsers?: number;
  now?: () => number;
}

interface CacheEntry {
  at: number;
  history: Promise<readonly RatedMovie[]>;
  /** Set once the read succeeded. */
  value?: readonly RatedMovie[];
  revalidating?: boolean;
}

function sameRatings(a: readonly RatedMovie[], b: readonly RatedMovie[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (a[i].movieId !== b[i].movieId || a[i].rating !== b[i].rating || a[i].ratedAt !== b[i].ratedAt)
      return false;
  return true;
}

/**
 * A user's ratings, read once and shared: a HYBRID request needs them in the orchestrator and in
 * every engine, and one SQL round trip costs more than the arithmetic of a whole engine.
 */
export class CachedRatingHistory implements RatingHistorySource {
  private readonly entries = new Map<number, CacheEntry>();
  private readonly ttlMs: number;
  private readonly maxUsers: number;
  private readonly now: () => number;
  /** Reads answered from memory (fresh, or stale while re-read) and reads that went to the source. */
  readonly cacheCounts: CacheCounts = newCacheCounts();

  constructor(
    private readonly source: RatingHistorySource,
    options: RatingHistoryCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.maxUsers = options.maxUsers ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  historyOf(userId: number): Promise<readonly RatedMovie[]> {
    const entry = this.entries.get(userId);
    if (entry && this.now() - entry.at < this.ttlMs) {
      this.cacheCounts.hits++;
      return entry.history;
    }
    if (entry?.value) {
      this.cacheCounts.hits++;
      // Past its age, the last read still answers at once while a fresh one loads: a request
      // waiting on the database under load waits for the whole event loop at every round trip.
      this.revalidate(userId, entry, entry.value);
      return entry.history;
    }
    this.cacheCounts.misses++;
    const previous = entry?.value;
    // An unchanged re-read hands back the same array: engines key their per-user work on it.
    const history = this.source
      .historyOf(userId)
      .then((fresh) => (previous && sameRatings(previous, fresh) ? previous : fresh));
    const created: CacheEntry = { at: this.now(), history };
    this.entries.delete(userId);
    this.entries.set(userId, created);
    if (this.entries.size > this.maxUsers) this.entries.delete(this.entries.keys().next().value as number);
    // A failed read is not remembered. A read in flight when forget() ran is no longer in the map,
    // so it cannot bring the old ratings back.
    history.then(
      (value) => {
        created.value = value;
      },
      () => {
        if (this.entries.get(userId) === created) this.entries.delete(userId);
      },
    );
    return history;
  }

  private revalidate(userId: number, stale: CacheEntry, previous: readonly RatedMovie[]): void {
    if (stale.revalidating) return;
    stale.revalidating = true;
    this.source.historyOf(userId).then(
      (fresh) => {
        // forget() or a newer read replaced the entry meanwhile: theirs is the one to keep.
        if (this.entries.get(userId) !== stale) return;
        const value = sameRatings(previous, fresh) ? previous : fresh;
        this.entries.set(userId, { at: this.now(), history: Promise.resolve(value), value });
      },
      () => {
        stale.revalidating = false;
      },
    );
  }

  /** Call when the user's ratings changed; the next read goes to the source. */
  forget(userId: number): void {
    this.entries.delete(userId);
  }
}
