import { DataSource } from 'typeorm';
import { CacheCounts, Versions, VersionedCache } from '../cache';
import { type NamedStatement, queryNamed } from '../db/prepared';
import { primaryReads, Reads } from '../db/read-routing';
import { WATCH_POSITIVE_FRACTION } from '../watch-rule';

/** One of a user's ratings as the engines need it. */
export interface RatedMovie {
  movieId: number;
  rating: number;
  /** Unix seconds. */
  ratedAt: number;
}

/** What the orchestrator asks of a user's ratings: a Map of movieId → rating answers it too. */
export interface RatedLookup {
  readonly size: number;
  has(movieId: number): boolean;
  keys(): Iterable<number>;
}

/**
 * A user's star ratings as three typed arrays, in the order read (the history's statement returns
 * them by movieId, and engines sum over them in that order). Why not an array of RatedMovie: each
 * user served is kept among the last 10,000 (CachedRatingHistory), and as objects a rating cost an
 * object and two boxed doubles (~80 B; with the orchestrator's Map of them ~130 B): V8's heap grew
 * by ~23 KB a user (heap snapshots 6,000 users apart at 25M: 161 objects and 488 heap numbers a
 * user), against 24 B a rating off the heap here, which the collector neither marks nor copies.
 */
export class RatedMovies implements RatedLookup {
  /** Whether movieIds ascend: `has` searches them then, and builds a Set once otherwise. */
  private readonly ascending: boolean;
  private lookup: Set<number> | null = null;

  constructor(
    readonly movieIds: Int32Array,
    readonly stars: Float64Array,
    /** Unix seconds. */
    readonly ratedAt: Float64Array,
  ) {
    let ascending = true;
    for (let i = 1; i < movieIds.length && ascending; i++) ascending = movieIds[i - 1] < movieIds[i];
    this.ascending = ascending;
  }

  static of(rated: readonly RatedMovie[]): RatedMovies {
    return new RatedMovies(
      Int32Array.from(rated, (r) => r.movieId),
      Float64Array.from(rated, (r) => r.rating),
      Float64Array.from(rated, (r) => r.ratedAt),
    );
  }

  static readonly none = new RatedMovies(new Int32Array(0), new Float64Array(0), new Float64Array(0));

  get size(): number {
    return this.movieIds.length;
  }

  has(movieId: number): boolean {
    if (!this.ascending) return (this.lookup ??= new Set(this.movieIds)).has(movieId);
    const ids = this.movieIds;
    let low = 0;
    let high = ids.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (ids[mid] === movieId) return true;
      if (ids[mid] < movieId) low = mid + 1;
      else high = mid - 1;
    }
    return false;
  }

  keys(): IterableIterator<number> {
    return this.movieIds.values();
  }

  /** Sum of the stars, added in order. */
  starSum(): number {
    let sum = 0;
    for (let i = 0; i < this.stars.length; i++) sum += this.stars[i];
    return sum;
  }

  /** As objects, in order (tests and tools; serving reads the arrays). */
  toArray(): RatedMovie[] {
    return Array.from(this.movieIds, (movieId, i) => ({
      movieId,
      rating: this.stars[i],
      ratedAt: this.ratedAt[i],
    }));
  }
}

/** A movie the user watched to the end (a WATCH ≥ WATCH_POSITIVE_FRACTION), rated or not. */
export interface WatchedMovie {
  movieId: number;
  /** Unix seconds, of the latest such event. */
  watchedAt: number;
}

/**
 * A user's ratings and their version (users.ratings_version, bumped with every rating and with
 * every WATCH ≥ WATCH_POSITIVE_FRACTION): one version is one set of ratings and watches, so engines
 * key what they compute from them on the version.
 */
export interface RatingHistory {
  version: number;
  ratings: RatedMovies;
  /**
   * The movies the user watched to the end, by movieId, including rated ones (a rating says more:
   * readers that use watches skip those). Only the collaborative engine's top-N input uses them;
   * absent means none.
   */
  watched?: readonly WatchedMovie[];
  /**
   * movieIds the user marked NOT_INTERESTED, ascending; absent when the source does not read them
   * (then the orchestrator asks FeedbackService.excludedOf, one more round trip).
   */
  notInterested?: readonly number[];
}

/** Where engines read a user's ratings; an unknown user has none (version 0). */
export interface RatingHistorySource {
  historyOf(userId: number): Promise<RatingHistory>;
}

/** Per-user engine state kept at most (the least recently used user goes first). */
export const MAX_USER_STATES = 1000;

/** Row kinds of SqlRatingHistory's statement, in the order it returns them. */
const RATED = 0;
const WATCHED = 1;
const NOT_INTERESTED = 2;

const NOTHING_EXCLUDED: ReadonlySet<number> = new Set();
const exclusionSets = new WeakMap<RatingHistory, ReadonlySet<number>>();

/**
 * The movies to leave out of the user's lists besides the rated ones, as of `history`'s version:
 * those watched to the end and those marked NOT_INTERESTED (FeedbackService.excludedOf's rule). Null
 * when the history was read without the marks. Built once per history object (one shared empty set
 * for the many users with none).
 */
export function exclusionsOf(history: RatingHistory): ReadonlySet<number> | null {
  if (!history.notInterested) return null;
  let excluded = exclusionSets.get(history);
  if (!excluded) {
    const watched = history.watched ?? [];
    excluded =
      watched.length === 0 && history.notInterested.length === 0
        ? NOTHING_EXCLUDED
        : new Set([...watched.map((w) => w.movieId), ...history.notInterested]);
    exclusionSets.set(history, excluded);
  }
  return excluded;
}

interface HistoryRow {
  version: number;
  kind: number | null;
  movie_id: number | null;
  rating: number | null;
  at: number | null;
}

/**
 * Ratings, watches and NOT_INTERESTED marks in one statement, so all are of the version read with
 * them; the marks came from a statement of their own (FeedbackService.excludedOf) before: one of the
 * three round trips of every first COLLABORATIVE list. Both feedback predicates imply
 * feedback_events_excluded_idx's, so that (user_id, movie_id) index serves them. Prepared: every
 * user's first request runs it, and its planning cost more than its execution.
 */
const HISTORY_STATEMENT: NamedStatement = {
  name: 'cinegraph_rating_history',
  text: `SELECT u.ratings_version::float8 AS version, x.kind, x.movie_id, x.rating, x.at
       FROM users AS u
       LEFT JOIN LATERAL (
            SELECT ${RATED} AS kind, r.movie_id, r.rating, extract(epoch FROM r.rated_at)::float8 AS at
              FROM ratings AS r WHERE r.user_id = u.id
            UNION ALL
            SELECT ${WATCHED}, f.movie_id, NULL, extract(epoch FROM max(f.occurred_at))::float8
              FROM feedback_events AS f
             WHERE f.user_id = u.id
               AND f.type = 'WATCH' AND f.value >= ${WATCH_POSITIVE_FRACTION}
             GROUP BY f.movie_id
            UNION ALL
            SELECT ${NOT_INTERESTED}, f.movie_id, NULL, NULL
              FROM feedback_events AS f
             WHERE f.user_id = u.id AND f.type = 'NOT_INTERESTED'
             GROUP BY f.movie_id) AS x ON true
      WHERE u.id = $1 ORDER BY x.kind, x.movie_id`,
};

/**
 * Straight from the ratings table, with the version read in the same statement: a user's own read
 * (Reads.ofUser), so right after their write it comes from the primary.
 */
export class SqlRatingHistory implements RatingHistorySource {
  private readonly reads: Reads;

  constructor(db: DataSource, reads: Reads = primaryReads(db)) {
    this.reads = reads;
  }

  async historyOf(userId: number): Promise<RatingHistory> {
    const rows = await this.reads.ofUser(userId, (db) =>
      queryNamed<HistoryRow>(db, HISTORY_STATEMENT, [userId]),
    );
    // The statement returns the ratings first (kind 0), so they are the rows before the others.
    let rated = 0;
    while (rated < rows.length && rows[rated].kind === RATED) rated++;
    const movieIds = new Int32Array(rated);
    const stars = new Float64Array(rated);
    const ratedAt = new Float64Array(rated);
    for (let i = 0; i < rated; i++) {
      const row = rows[i];
      movieIds[i] = row.movie_id as number;
      stars[i] = row.rating as number;
      ratedAt[i] = row.at as number;
    }
    const watched: WatchedMovie[] = [];
    const notInterested: number[] = [];
    for (let i = rated; i < rows.length; i++) {
      const row = rows[i];
      if (row.movie_id === null) continue;
      if (row.kind === WATCHED) watched.push({ movieId: row.movie_id, watchedAt: row.at as number });
      else if (row.kind === NOT_INTERESTED) notInterested.push(row.movie_id);
    }
    return {
      version: rows[0]?.version ?? 0,
      ratings: rated > 0 ? new RatedMovies(movieIds, stars, ratedAt) : RatedMovies.none,
      watched,
      notInterested,
    };
  }
}

export interface RatingHistoryCacheOptions {
  maxUsers?: number;
  now?: () => number;
}

/**
 * A user's ratings, read once and shared: a HYBRID request needs them in the orchestrator and in
 * every engine, and one SQL round trip costs more than the arithmetic of a whole engine. An entry
 * is answered while its version is the one this instance knows for the user (the freshness rule,
 * src/cache/versioned-cache.ts); a notice of a newer version makes the next read go to the source.
 */
export class CachedRatingHistory implements RatingHistorySource {
  private readonly cache: VersionedCache<number, RatingHistory>;
  /** Reads in flight, with the version known when each started: a later notice must not join an older read. */
  private readonly reading = new Map<
    number,
    { known: number | undefined; history: Promise<RatingHistory> }
  >();

  constructor(
    private readonly source: RatingHistorySource,
    private readonly versions: Versions = new Versions(),
    options: RatingHistoryCacheOptions = {},
  ) {
    this.cache = new VersionedCache({ max: options.maxUsers ?? 10_000, versions, now: options.now });
  }

  /** Reads answered from memory and reads that went to the source. */
  get cacheCounts(): CacheCounts {
    return this.cache.counts;
  }

  historyOf(userId: number): Promise<RatingHistory> {
    const known = this.versions.userVersion(userId);
    const inFlight = this.reading.get(userId);
    if (inFlight && inFlight.known === known) {
      this.cache.counts.hits++;
      return inFlight.history;
    }
    if (known !== undefined) {
      const hit = this.cache.get(userId, known);
      if (hit) return Promise.resolve(hit);
    } else this.cache.counts.misses++;
    const catalog = this.cache.catalog();
    const history = this.source.historyOf(userId);
    const reading = { known, history };
    this.reading.set(userId, reading);
    history.then(
      (read) => {
        if (this.reading.get(userId) === reading) this.reading.delete(userId);
        this.versions.sawUser(userId, read.version);
        this.cache.set(userId, read, read.version, { catalog });
      },
      () => {
        if (this.reading.get(userId) === reading) this.reading.delete(userId);
      },
    );
    return history;
  }

  /** Drops the user's entry (their ratings changed here); the version check alone would also catch it. */
  forget(userId: number): void {
    this.cache.delete(userId);
    this.reading.delete(userId);
  }
}
