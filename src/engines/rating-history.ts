import { DataSource } from 'typeorm';
import { CacheCounts, Versions, VersionedCache } from '../cache';
import { type NamedStatement, queryNamed } from '../db/prepared';
import { primaryReads, Reads } from '../db/read-routing';
import { WATCH_POSITIVE_FRACTION } from '../watch-rule';
import type { RatedMovieIds } from './engine';

/** One of a user's ratings as the engines need it. */
export interface RatedMovie {
  movieId: number;
  rating: number;
  /** Unix seconds. */
  ratedAt: number;
}

/** What the orchestrator asks of a user's ratings: a Map of movieId → rating answers it too. */
export interface RatedLookup extends RatedMovieIds {
  readonly size: number;
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
  /**
   * What the users row says of the history's owner, read by the same statement: a list request
   * reads the history first and its access check then needs no round trip of its own. Absent for
   * an unknown user and from sources that do not read it.
   */
  owner?: HistoryOwner;
}

/** Whether the user is private (onboarded, or created by a service key) and their external id. */
export interface HistoryOwner {
  isPrivate: boolean;
  externalId: string | null;
}

/** Where engines read a user's ratings; an unknown user has none (version 0). */
export interface RatingHistorySource {
  historyOf(userId: number): Promise<RatingHistory>;
}

/** Per-user engine state kept at most (the least recently used user goes first). */
export const MAX_USER_STATES = 1000;

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

/** SqlRatingHistory's one row: the user's, with their ratings packed as big-endian binary. */
interface HistoryRow {
  version: number;
  is_private: boolean;
  external_id: string | null;
  /** int4 per rating, by movie id; null without ratings. */
  movie_ids: Uint8Array | null;
  /** float4 per rating, in the same order. */
  stars: Uint8Array | null;
  /** float8 unix seconds per rating, in the same order. */
  rated_at: Uint8Array | null;
  watched_ids: number[] | null;
  watched_at: number[] | null;
  not_interested: number[] | null;
}

/**
 * Ratings, watches, NOT_INTERESTED marks and the users row in one statement, so all are of the
 * version read with them: the marks came from a statement of their own (FeedbackService.excludedOf)
 * before, one of the three round trips of every first COLLABORATIVE list, and the users row lets a
 * list's access check skip its own (readRatingsBeforeAccess). Both feedback predicates imply
 * feedback_events_excluded_idx's, so that (user_id, movie_id) index serves them. Prepared: every
 * user's first request runs it, and its planning cost more than its execution.
 *
 * The ratings come as one row of three binary columns (int4send/float4send/float8send, decoded
 * into the typed arrays), not a row per rating: node-postgres turned each row into an object of
 * five parsed text fields. Per read on the 25M release (scratch benchmark, old and new interleaved
 * on one connection, 08:01 UTC, load average 0.7–1.5): node CPU 0.78 → 0.31 ms for users with
 * ~150 ratings, 2.29 → 0.48 ms with ~1,000, 6.58 → 0.88 ms with ~3,000; wall 0.98 → 0.53, 3.14 →
 * 1.19, 9.64 → 3.11 ms. The ratings are aggregated from a subquery ordered by movie id (the
 * primary key's order, no sort); the three aggregates see the same rows in the same order, so the
 * arrays line up whatever it is, and RatedMovies checks the order it relies on. An ORDER BY in each
 * aggregate sorted three times: 7.2 against 2.3 ms for 3,306 ratings (EXPLAIN ANALYZE).
 */
const HISTORY_STATEMENT: NamedStatement = {
  name: 'cinegraph_rating_history',
  text: `SELECT u.ratings_version::float8 AS version, u.is_private, u.external_id,
            r.movie_ids, r.stars, r.rated_at,
            w.movie_ids AS watched_ids, w.at AS watched_at, n.movie_ids AS not_interested
       FROM users AS u
       CROSS JOIN LATERAL (
            SELECT string_agg(int4send(o.movie_id), ''::bytea) AS movie_ids,
                   string_agg(float4send(o.rating), ''::bytea) AS stars,
                   string_agg(float8send(date_part('epoch', o.rated_at)), ''::bytea) AS rated_at
              FROM (SELECT movie_id, rating, rated_at FROM ratings
                     WHERE user_id = u.id ORDER BY movie_id) AS o) AS r
       CROSS JOIN LATERAL (
            SELECT array_agg(g.movie_id ORDER BY g.movie_id) AS movie_ids,
                   array_agg(g.at ORDER BY g.movie_id) AS at
              FROM (SELECT f.movie_id, extract(epoch FROM max(f.occurred_at))::float8 AS at
                      FROM feedback_events AS f
                     WHERE f.user_id = u.id
                       AND f.type = 'WATCH' AND f.value >= ${WATCH_POSITIVE_FRACTION}
                     GROUP BY f.movie_id) AS g) AS w
       CROSS JOIN LATERAL (
            SELECT array_agg(DISTINCT f.movie_id ORDER BY f.movie_id) AS movie_ids
              FROM feedback_events AS f
             WHERE f.user_id = u.id AND f.type = 'NOT_INTERESTED') AS n
      WHERE u.id = $1`,
};

/** Big-endian binary columns (node-postgres gives a Buffer, PGlite a Uint8Array). */
function bigEndian(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

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
    const row = rows[0];
    // No row: no such user.
    if (row === undefined) return { version: 0, ratings: RatedMovies.none, watched: [], notInterested: [] };
    const count = row.movie_ids ? row.movie_ids.byteLength / 4 : 0;
    let ratings = RatedMovies.none;
    if (count > 0) {
      const ids = bigEndian(row.movie_ids as Uint8Array);
      const given = bigEndian(row.stars as Uint8Array);
      const at = bigEndian(row.rated_at as Uint8Array);
      const movieIds = new Int32Array(count);
      const stars = new Float64Array(count);
      const ratedAt = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        movieIds[i] = ids.getInt32(4 * i);
        stars[i] = given.getFloat32(4 * i);
        ratedAt[i] = at.getFloat64(8 * i);
      }
      ratings = new RatedMovies(movieIds, stars, ratedAt);
    }
    const watchedIds = row.watched_ids ?? [];
    const watchedAt = row.watched_at ?? [];
    return {
      version: row.version,
      ratings,
      watched: watchedIds.map((movieId, i) => ({ movieId, watchedAt: watchedAt[i] })),
      notInterested: row.not_interested ?? [],
      owner: { isPrivate: row.is_private, externalId: row.external_id },
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
