import { DataSource } from 'typeorm';
import { primaryReads, Reads } from '../../db/read-routing';
import {
  EngineStatus,
  RecommendationEngine,
  RecommendationRequest,
  ScoredMovie,
  withLazyDetails,
} from '../engine';
import { CacheCounts, UnchangedReuse, Versions, VersionedCache } from '../../cache';
import { RatingHistorySource, SqlRatingHistory } from '../rating-history';
import { MoviePositions } from '../movie-positions';
import { ReusedMarks } from '../reused-marks';
import { eachInSlices, sortInSlices } from '../../slices';
import { refreshRatingStats, RefreshSummary } from './aggregates';
import { appeal, estimate, Prior, RatingAggregate } from './bayes';
import {
  AsOfSource,
  RankBy,
  RankingOptions,
  resolveEngineOptions,
  ResolvedEngineOptions,
  resolveTrendingAsOf,
  StatisticalEngineOptions,
  TrendingOptions,
  validatePositiveId,
  validateRanking,
  validateTrending,
  ValidatedRanking,
  ValidatedTrending,
  windowStart,
} from './options';

export interface BayesianRating {
  /** The Bayesian weighted rating (posterior mean). */
  weighted: number;
  /** The plain mean of the movie's ratings. */
  mean: number;
  votes: number;
  lower: number;
  upper: number;
}

export interface RankedMovie extends BayesianRating {
  movieId: number;
  /** The ranking key: `weighted` or `lower`, per rankBy. */
  score: number;
}

export interface TrendingMovie extends RankedMovie {
  /** Ratings inside the window (undecayed); `mean` and `weighted` use the decayed weights. */
  votes: number;
  /** Σ decay weights: the effective vote count the prior is weighed against. */
  decayedVotes: number;
  lastRatedAt: Date;
}

export type PriorWeightSource = 'configured' | 'quantile';

export interface PriorSummary {
  /** m, in (decayed) votes. */
  weight: number;
  weightSource: PriorWeightSource;
  /** C, the mean of all ratings. */
  mean: number;
  variance: number;
  z: number;
}

export interface TopRatedResult {
  movies: RankedMovie[];
  rankBy: RankBy;
  /** Null when there are no ratings at all. */
  prior: PriorSummary | null;
}

export interface TrendingResult {
  movies: TrendingMovie[];
  rankBy: RankBy;
  /** Null when m could not be derived: an empty window and no configured m. */
  prior: PriorSummary | null;
  /** The window is (windowStart, asOf]. */
  asOf: Date;
  asOfSource: AsOfSource;
  windowStart: Date;
  windowDays: number;
  halfLifeDays: number | null;
}

export interface GlobalRatingStats {
  ratedMovies: number;
  votes: number;
  /** C; null without ratings. */
  mean: number | null;
  variance: number | null;
  /** The m used when a call does not override it; null without ratings. */
  priorWeight: number | null;
  priorWeightSource: PriorWeightSource;
  /** The quantile of per-movie vote counts a data-derived m comes from. */
  priorQuantile: number;
  z: number;
  newestRatingAt: Date | null;
}

export interface StatisticalEngineDescription {
  name: 'statistical';
  method: string;
  priorWeight: string;
  bounds: string;
  trending: string;
  rankBy: RankBy;
  stats: GlobalRatingStats;
}

interface AggregateRow {
  movie_id: number;
  n: number;
  s: number;
  q: number;
}

interface TrendingRow extends AggregateRow {
  prior_weight: number | null;
  votes: number;
  last_rated_at: Date;
}

/** Collects positional parameters while a query is assembled. */
class Parameters {
  readonly values: unknown[] = [];

  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

/**
 * Past this many half-lives a rating's weight counts as 0. Its weight (0.5^500 ≈ 3e-151) is nothing
 * next to any newer rating, while the score multiplies weights pairwise (s², w·r²), and PostgreSQL
 * raises "value out of range: underflow" instead of rounding a product below 1e-308 to 0: a
 * one-day half-life over a ten-year window failed that way.
 */
const MAX_HALF_LIVES = 500;

/**
 * The SQL twin of bayes.estimate() over columns n (votes), s (Σr), q (Σr²), used to order in the
 * database; the returned rows are recomputed with bayes.ts, and a test checks both agree.
 */
function scoreSql(
  rankBy: RankBy,
  m: string,
  prior: { mean: number; variance: number; z: number },
  params: Parameters,
): string {
  const weighted = `((s + ${m} * ${params.add(prior.mean, 'float8')}) / (n + ${m}))`;
  if (rankBy === 'weighted') return weighted;
  const globalVariance = params.add(prior.variance, 'float8');
  const standardError = `(sqrt(greatest(q - s * s / n, 0) + ${m} * ${globalVariance}) / (n + ${m}))`;
  return `greatest(0.5, least(5, ${weighted} - ${params.add(prior.z, 'float8')} * ${standardError}))`;
}

/** WHERE conditions on a movie id column `id` and the movies row `mv` (joined only when needed). */
function movieFilters(
  filters: ValidatedRanking,
  params: Parameters,
  id: string,
): { conditions: string[]; needsMovies: boolean } {
  const conditions: string[] = [];
  if (filters.genres) conditions.push(`mv.genres && ${params.add(filters.genres, 'text[]')}`);
  if (filters.yearFrom !== null) conditions.push(`mv.year >= ${params.add(filters.yearFrom, 'int')}`);
  if (filters.yearTo !== null) conditions.push(`mv.year <= ${params.add(filters.yearTo, 'int')}`);
  const needsMovies = conditions.length > 0;
  if (filters.exclude.length > 0)
    conditions.push(`NOT (${id} = ANY (${params.add(filters.exclude, 'int[]')}))`);
  return { conditions, needsMovies };
}

/** Movies of the ranking snapshot processed between two yields to requests (a few ms of work). */
const SNAPSHOT_SLICE_ROWS = 8192;

/**
 * Every rated movie ranked by appeal (bayes.appeal: how well and how widely rated), best first:
 * what personal recommendations filter in memory instead of sorting the catalog in SQL per request.
 * Columns by ranked position rather than an object per movie: an object for each of 87,584 movies,
 * a Map of them and the keys copied out of them made a reload at ML-32M's size cost 413–423 ms of
 * CPU (156–158 ms as columns), and a rating arriving meanwhile waited behind it in its slices (a
 * rating in the next list 69–72 ms there, 24 ms since; 8–18 ms up to 25M).
 */
interface RankingSnapshot {
  rankedIds: Int32Array;
  appeal: Float64Array;
  /** The plain mean and the vote count, for the reason a list gives. */
  mean: Float64Array;
  votes: Float64Array;
  /** Genres as PostgreSQL sent them, joined by U+001F: split only when a request filters by genre. */
  genres: string[];
  /** Those splits, made once per movie and snapshot (genresAt). */
  splitGenres: (readonly string[] | undefined)[];
  /** Movie id → ranked position. */
  positions: MoviePositions;
  /** The largest movie id ranked (0 when none). */
  maxMovieId: number;
}

const GENRE_SEPARATOR = '\u001f';

const EMPTY_RANKING: RankingSnapshot = {
  rankedIds: new Int32Array(0),
  appeal: new Float64Array(0),
  mean: new Float64Array(0),
  votes: new Float64Array(0),
  genres: [],
  splitGenres: [],
  positions: new MoviePositions([]),
  maxMovieId: 0,
};

function genresAt(ranking: RankingSnapshot, position: number): readonly string[] {
  let genres = ranking.splitGenres[position];
  if (genres === undefined) {
    const joined = ranking.genres[position];
    genres = ranking.splitGenres[position] = joined === '' ? [] : joined.split(GENRE_SEPARATOR);
  }
  return genres;
}

function scoredMovie(ranking: RankingSnapshot, position: number): ScoredMovie {
  const movieId = ranking.rankedIds[position];
  const mean = ranking.mean[position];
  const votes = ranking.votes[position];
  return withLazyDetails({ movieId, score: ranking.appeal[position] }, () => ({
    reason: `rated ${mean.toFixed(1)}★ by ${votes} ${votes === 1 ? 'person' : 'people'}`,
  }));
}

/**
 * The cold-start engine: needs nothing about the user, ranks by how well and how widely a movie is
 * rated (Bayesian weighted rating with confidence bounds), and what is rated well lately (trending).
 * All aggregates live in SQL (movie_rating_stats, kept by triggers), so a ranking is one or two
 * small queries.
 */
export class StatisticalEngine implements RecommendationEngine {
  readonly name = 'statistical' as const;
  private readonly options: ResolvedEngineOptions;
  /**
   * Both computed from everybody's ratings, which carry no version: they age (globalStatsMaxAgeMs)
   * and depend on the catalog version (an import rewrites the aggregates).
   */
  private readonly globalStatsCache: VersionedCache<'all', GlobalRatingStats>;
  private readonly rankingCache: VersionedCache<'all', RankingSnapshot>;
  /**
   * Trending answers by request (trendingKey), also from everybody's ratings: they age
   * (trendingCacheMaxAgeMs) and depend on the catalog version (genre and year filters join movies).
   */
  private readonly trendingCache: VersionedCache<string, TrendingResult>;
  /** What the two caches above reload from while no rating was written since (UnchangedReuse). */
  private readonly unchangedStats: UnchangedReuse<GlobalRatingStats>;
  private readonly unchangedRanking: UnchangedReuse<RankingSnapshot>;
  private readonly history: RatingHistorySource;
  private readonly ratedMarks = new ReusedMarks();

  constructor(
    private readonly dataSource: DataSource,
    options: StatisticalEngineOptions = {},
    /** Shared with the other engines so a request reads the user's ratings once. */
    history?: RatingHistorySource,
    versions: Versions | null = null,
    /** Where the aggregates are read (a replica's when there is one); refresh() writes the primary. */
    private readonly reads: Reads = primaryReads(dataSource),
  ) {
    this.options = resolveEngineOptions(options);
    this.history = history ?? new SqlRatingHistory(dataSource, reads);
    const aging = {
      max: 1,
      versions,
      maxAgeMs: this.options.globalStatsMaxAgeMs,
      now: () => this.options.clock().getTime(),
    };
    this.globalStatsCache = new VersionedCache(aging);
    this.rankingCache = new VersionedCache(aging);
    // globalStatsMaxAgeMs 0 means every read queries: nothing is kept then either.
    const stamps = this.options.globalStatsMaxAgeMs > 0 ? versions : null;
    const unchangedMaxAgeMs = this.options.unchangedStatsMaxAgeMs;
    this.unchangedStats = new UnchangedReuse(stamps, unchangedMaxAgeMs, aging.now);
    this.unchangedRanking = new UnchangedReuse(stamps, unchangedMaxAgeMs, aging.now);
    this.trendingCache = new VersionedCache({
      ...aging,
      max: this.options.trendingCacheEntries,
      maxAgeMs: this.options.trendingCacheMaxAgeMs,
    });
  }

  /** Read by /metrics. */
  get cacheCounts(): { trending: CacheCounts } {
    return { trending: this.trendingCache.counts };
  }

  /** Every read of this engine is of aggregates all users share. */
  private sharedQuery<T>(sql: string, params?: unknown[]): Promise<T> {
    return this.reads.shared((db) => db.query(sql, params));
  }

  /** Always answerable: aggregates are maintained in the database, there is nothing to train. */
  status(): EngineStatus {
    return { ready: true };
  }

  /**
   * The user's best unseen movies by appeal (Bayesian rating × ln(1 + votes)); a user without
   * ratings gets the plain top list.
   * Answered from the ranking snapshot (see rankingSnapshot), filtered in memory.
   */
  async recommend(request: RecommendationRequest): Promise<ScoredMovie[]> {
    const userId = validatePositiveId(request.userId, 'userId');
    const filters = validateRanking(
      { limit: request.limit, genres: request.genres, exclude: request.exclude },
      this.options,
    );
    const [ranking, history] = await Promise.all([this.rankingSnapshot(), this.history.historyOf(userId)]);
    const skip = new Set<number>(filters.exclude);
    const wanted = filters.genres ? new Set(filters.genres) : null;
    // The rated movies marked by id (ReusedMarks): a user who rated most popular movies walks far
    // down the ranking, and a search of their ratings per movie walked was ~8% of the API thread on
    // first HYBRID lists of users with over 5,000 ratings at 25M (CPU profile).
    const found: ScoredMovie[] = [];
    this.ratedMarks.within(ranking.maxMovieId + 1, [history.ratings.movieIds], (rated) => {
      const { rankedIds } = ranking;
      for (let i = 0; i < rankedIds.length && found.length < filters.limit; i++) {
        const movieId = rankedIds[i];
        if (rated[movieId] === 1 || skip.has(movieId)) continue;
        if (wanted && !genresAt(ranking, i).some((genre) => wanted.has(genre))) continue;
        found.push(scoredMovie(ranking, i));
      }
    });
    return found;
  }

  /**
   * The same score for candidates other engines found: appeal does not depend on the user. Movies
   * nobody rated are left out.
   */
  async scoreMovies(userId: number, movieIds: readonly number[]): Promise<Map<number, ScoredMovie>> {
    validatePositiveId(userId, 'userId');
    const ranking = await this.rankingSnapshot();
    const scores = new Map<number, ScoredMovie>();
    for (const movieId of movieIds) {
      const position = ranking.positions.get(movieId);
      if (position !== undefined) scores.set(movieId, scoredMovie(ranking, position));
    }
    return scores;
  }

  /**
   * Loads the ranking snapshot now rather than on the first list that needs it (the server calls it
   * while starting; src/app.ts gives the measured reason).
   */
  async warm(): Promise<void> {
    await this.rankingSnapshot();
  }

  /**
   * Every rated movie ranked once and reused for globalStatsMaxAgeMs, like the prior: a personal
   * list only filters it, where sorting the catalog in SQL took a query per request. One rating
   * moves a movie's Bayesian rating by a fraction of a star over a whole catalog of votes, so
   * the snapshot may be that many seconds old (and, once expired, is served while its successor
   * loads in the background); exact figures (topRated, bayesianRatings) still come from SQL.
   */
  private rankingSnapshot(): Promise<RankingSnapshot> {
    const load = () => this.unchangedRanking.get(() => this.loadRankingSnapshot());
    return this.rankingCache.getOrLoad('all', 0, load, {
      staleWhileRevalidate: this.options.globalStatsMaxAgeMs > 0,
    });
  }

  private async loadRankingSnapshot(): Promise<RankingSnapshot> {
    const prior = this.allTimePrior(await this.globalStats(), this.options.priorWeight);
    if (!prior) return EMPTY_RANKING;
    // Genres as one delimited text: parsing ten thousand text[] values blocked the event loop.
    const rows: (AggregateRow & { genres: string })[] = await this.sharedQuery(
      `SELECT x.movie_id, x.votes::float8 AS n, x.rating_sum AS s, x.rating_sq_sum AS q,
              array_to_string(mv.genres, chr(31)) AS genres
         FROM movie_rating_stats AS x JOIN movies AS mv ON mv.id = x.movie_id
        WHERE x.votes > 0`,
    );
    // In slices, with requests answered between them: at 25M (62K movies) the whole of it took
    // ~225 ms of the event loop every globalStatsMaxAgeMs, and every request in flight waited.
    const count = rows.length;
    const idOf = new Int32Array(count);
    const appealOf = new Float64Array(count);
    const meanOf = new Float64Array(count);
    const votesOf = new Float64Array(count);
    let at = 0;
    await eachInSlices(rows, SNAPSHOT_SLICE_ROWS, (row) => {
      const { weighted, mean, votes } = estimate(aggregateOf(row), prior, prior.z);
      idOf[at] = row.movie_id;
      appealOf[at] = appeal(weighted, votes);
      meanOf[at] = mean;
      votesOf[at] = votes;
      at++;
    });
    const order = await sortInSlices(
      count,
      (a, b) => appealOf[b] - appealOf[a] || votesOf[b] - votesOf[a] || idOf[a] - idOf[b],
    );
    const byRank = <T extends Int32Array | Float64Array>(column: T): T =>
      column.map((_, p) => column[order[p]]) as T;
    const rankedIds = byRank(idOf);
    let maxMovieId = 0;
    for (const movieId of idOf) if (movieId > maxMovieId) maxMovieId = movieId;
    return {
      rankedIds,
      appeal: byRank(appealOf),
      mean: byRank(meanOf),
      votes: byRank(votesOf),
      genres: Array.from(order, (i) => rows[i].genres),
      splitGenres: new Array(count),
      positions: new MoviePositions(rankedIds),
      maxMovieId,
    };
  }

  /** The best movies of all time by Bayesian rating (or by its lower bound). */
  async topRated(options: RankingOptions): Promise<TopRatedResult> {
    return this.rankAllTime(validateRanking(options, this.options));
  }

  /**
   * The best-rated movies among ratings inside (asOf − windowDays, asOf], each optionally weighted
   * by 2^(−age/halfLifeDays), shrunk toward the all-time global mean with m defaulting to the
   * priorQuantile of the window's decayed vote counts.
   *
   * Answered from the trending cache for up to trendingCacheMaxAgeMs (once older, served once more
   * while its successor is computed in the background), because the query groups every rating of
   * the window and its cost grows with the data. A cached answer keeps the asOf it was computed
   * for, so a window ending "now" may end up to that long ago, and says so. The result is shared
   * between callers: read it, do not change it.
   */
  async trending(options: TrendingOptions = { limit: 20 }): Promise<TrendingResult> {
    const request = validateTrending(options, this.options);
    const global = await this.globalStats();
    const { asOf, source } = resolveTrendingAsOf(
      request.asOf,
      this.options.clock(),
      global.newestRatingAt,
      request.windowDays,
    );
    return this.trendingCache.getOrLoad(
      trendingKey(request, asOf, source),
      0,
      () => this.computeTrending(request, global, asOf, source),
      { staleWhileRevalidate: this.options.trendingCacheMaxAgeMs > 0 },
    );
  }

  private async computeTrending(
    request: ValidatedTrending,
    global: GlobalRatingStats,
    asOf: Date,
    source: AsOfSource,
  ): Promise<TrendingResult> {
    const start = windowStart(asOf, request.windowDays);
    const base = {
      rankBy: request.rankBy,
      asOf,
      asOfSource: source,
      windowStart: start,
      windowDays: request.windowDays,
      halfLifeDays: request.halfLifeDays,
    };
    if (global.mean === null || global.variance === null) return { ...base, movies: [], prior: null };

    const params = new Parameters();
    const asOfParam = params.add(asOf, 'timestamptz');
    let weight = '1::float8';
    if (request.halfLifeDays !== null) {
      const halfLives = `(extract(epoch FROM (${asOfParam} - rated_at))::float8 / ${params.add(request.halfLifeDays * 86400, 'float8')})`;
      weight = `CASE WHEN ${halfLives} > ${MAX_HALF_LIVES} THEN 0::float8 ELSE power(0.5, ${halfLives}) END`;
    }
    const m = `coalesce(${params.add(request.priorWeight, 'float8')}, percentile_cont(${params.add(this.options.priorQuantile, 'float8')}) WITHIN GROUP (ORDER BY n))`;
    const score = scoreSql(
      request.rankBy,
      'prior.m',
      { mean: global.mean, variance: global.variance, z: request.z },
      params,
    );
    const { conditions, needsMovies } = movieFilters(request, params, 'x.movie_id');
    if (request.minVotes > 1) conditions.push(`x.votes >= ${params.add(request.minVotes, 'int')}`);
    const sql = `
      WITH windowed AS (
        SELECT movie_id, count(*)::int AS votes, sum(w) AS n, sum(w * rating) AS s, sum(w * rating * rating) AS q,
               max(rated_at) AS last_rated_at
        FROM (
          SELECT movie_id, rating::float8 AS rating, rated_at, ${weight} AS w
          FROM ratings
          WHERE rated_at > ${params.add(start, 'timestamptz')} AND rated_at <= ${asOfParam}
        ) AS recent
        GROUP BY movie_id
        HAVING sum(w) > 0
      ),
      prior AS (SELECT ${m} AS m FROM windowed),
      ranked AS (
        SELECT x.*, ${score} AS score
        FROM windowed AS x CROSS JOIN prior ${needsMovies ? 'JOIN movies AS mv ON mv.id = x.movie_id' : ''}
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY score DESC, x.n DESC, x.movie_id
        LIMIT ${params.add(request.limit, 'int')}
      )
      SELECT prior.m AS prior_weight, ranked.movie_id, ranked.votes, ranked.n, ranked.s, ranked.q, ranked.last_rated_at
      FROM prior LEFT JOIN ranked ON true
      ORDER BY ranked.score DESC, ranked.n DESC, ranked.movie_id`;
    const rows: TrendingRow[] = await this.sharedQuery(sql, params.values);
    const priorWeight = rows[0]?.prior_weight ?? null;
    if (priorWeight === null) return { ...base, movies: [], prior: null };

    const prior = {
      weight: priorWeight,
      weightSource: request.priorWeight === null ? 'quantile' : 'configured',
      mean: global.mean,
      variance: global.variance,
      z: request.z,
    } satisfies PriorSummary;
    const movies = rows
      .filter((row) => row.movie_id !== null)
      .map((row): TrendingMovie => {
        const ranked = this.ranked(row, prior, request.rankBy);
        return { ...ranked, votes: row.votes, decayedVotes: row.n, lastRatedAt: row.last_rated_at };
      });
    return { ...base, movies, prior };
  }

  /** Bayesian ratings of many movies at once (for a DataLoader); movies without ratings are absent. */
  async bayesianRatings(movieIds: readonly number[]): Promise<Map<number, BayesianRating>> {
    const ids = [...new Set(movieIds.map((id) => validatePositiveId(id)))];
    const result = new Map<number, BayesianRating>();
    if (ids.length === 0) return result;
    const global = await this.globalStats();
    const prior = this.allTimePrior(global, this.options.priorWeight);
    if (!prior) return result;
    const rows: AggregateRow[] = await this.sharedQuery(
      `SELECT movie_id, votes::float8 AS n, rating_sum AS s, rating_sq_sum AS q
       FROM movie_rating_stats WHERE movie_id = ANY ($1::int[])`,
      [ids],
    );
    for (const row of rows) {
      const { weighted, mean, votes, lower, upper } = estimate(aggregateOf(row), prior, prior.z);
      result.set(row.movie_id, { weighted, mean, votes, lower, upper });
    }
    return result;
  }

  /**
   * The prior (C, σ², m) and catalog totals. Cached for globalStatsMaxAgeMs: one rating moves them
   * imperceptibly, and the percentile behind m sorts every movie's vote count, which would otherwise
   * be the larger part of each ranking's cost. Per-movie figures are never cached.
   */
  async globalStats(): Promise<GlobalRatingStats> {
    return this.globalStatsCache.getOrLoad('all', 0, () =>
      this.unchangedStats.get(() => this.queryGlobalStats()),
    );
  }

  private async queryGlobalStats(): Promise<GlobalRatingStats> {
    const [row]: {
      rated_movies: number;
      votes: number;
      rating_sum: number | null;
      rating_sq_sum: number | null;
      vote_quantile: number | null;
      newest_rating_at: Date | null;
    }[] = await this.sharedQuery(
      `SELECT count(*)::int AS rated_movies, coalesce(sum(votes), 0)::float8 AS votes,
              sum(rating_sum) AS rating_sum, sum(rating_sq_sum) AS rating_sq_sum,
              percentile_cont($1::float8) WITHIN GROUP (ORDER BY votes) AS vote_quantile,
              max(last_rated_at) AS newest_rating_at
       FROM movie_rating_stats WHERE votes > 0`,
      [this.options.priorQuantile],
    );
    const hasRatings = row.votes > 0 && row.rating_sum !== null && row.rating_sq_sum !== null;
    const mean = hasRatings ? row.rating_sum! / row.votes : null;
    const variance = hasRatings ? Math.max(0, row.rating_sq_sum! / row.votes - mean! * mean!) : null;
    return {
      ratedMovies: row.rated_movies,
      votes: row.votes,
      mean,
      variance,
      priorWeight: hasRatings ? (this.options.priorWeight ?? row.vote_quantile) : null,
      priorWeightSource: this.options.priorWeight === null ? 'quantile' : 'configured',
      priorQuantile: this.options.priorQuantile,
      z: this.options.z,
      newestRatingAt: row.newest_rating_at,
    };
  }

  async describe(): Promise<StatisticalEngineDescription> {
    const stats = await this.globalStats();
    const quantile = `${Math.round(stats.priorQuantile * 1000) / 10}th percentile`;
    return {
      name: this.name,
      method:
        'Bayesian weighted rating WR = v/(v+m)·R + m/(v+m)·C (v votes, R the movie mean, C the global mean); ' +
        'personal lists rank by appeal = WR·ln(1 + v).',
      priorWeight:
        stats.priorWeightSource === 'configured'
          ? `m = ${stats.priorWeight} (configured)`
          : `m = the ${quantile} of per-movie vote counts among movies with at least one vote` +
            (stats.priorWeight === null ? ' (no ratings yet)' : ` = ${stats.priorWeight}`),
      bounds:
        `WR ± ${stats.z}·σ/√(v+m), clamped to [0.5, 5]: normal approximation of the posterior of the mean, ` +
        'σ² the movie variance shrunk toward the global variance, (v·s² + m·σ²global)/(v+m).',
      trending:
        `ratings inside (asOf − ${this.options.trendingWindowDays} days, asOf]` +
        (this.options.trendingHalfLifeDays === null
          ? ''
          : `, each weighted 2^(−age/${this.options.trendingHalfLifeDays} days)`) +
        `, shrunk toward C with m = the ${quantile} of the window's vote counts unless configured; ` +
        'asOf defaults to now, or to the newest rating when that is older than the window.',
      rankBy: this.options.rankBy,
      stats,
    };
  }

  /** Full recompute of the aggregates (after a bulk import that bypassed the triggers). */
  async refresh(): Promise<RefreshSummary> {
    const summary = await refreshRatingStats(this.dataSource);
    this.invalidateGlobalStats();
    return summary;
  }

  /**
   * Forgets the cached global statistics, ranking and trending answers (after refresh(); an import
   * also moves the catalog version, which outdates them on every instance).
   */
  invalidateGlobalStats(): void {
    this.globalStatsCache.clear();
    this.rankingCache.clear();
    this.trendingCache.clear();
    this.unchangedStats.forget();
    this.unchangedRanking.forget();
  }

  private allTimePrior(global: GlobalRatingStats, configured: number | null, z = this.options.z) {
    if (global.mean === null || global.variance === null || global.priorWeight === null) return null;
    return {
      weight: configured ?? global.priorWeight,
      weightSource: configured === null ? 'quantile' : 'configured',
      mean: global.mean,
      variance: global.variance,
      z,
    } satisfies PriorSummary;
  }

  private async rankAllTime(filters: ValidatedRanking): Promise<TopRatedResult> {
    const global = await this.globalStats();
    const prior = this.allTimePrior(global, filters.priorWeight, filters.z);
    if (!prior) return { movies: [], rankBy: filters.rankBy, prior: null };

    const params = new Parameters();
    const score = scoreSql(filters.rankBy, params.add(prior.weight, 'float8'), prior, params);
    const { conditions, needsMovies } = movieFilters(filters, params, 'x.movie_id');
    if (filters.minVotes > 1) conditions.push(`x.votes >= ${params.add(filters.minVotes, 'int')}`);
    const rows: AggregateRow[] = await this.sharedQuery(
      `SELECT movie_id, n, s, q
       FROM (SELECT movie_id, votes, votes::float8 AS n, rating_sum AS s, rating_sq_sum AS q
             FROM movie_rating_stats) AS x
       ${needsMovies ? 'JOIN movies AS mv ON mv.id = x.movie_id' : ''}
       ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
       ORDER BY ${score} DESC, x.n DESC, x.movie_id
       LIMIT ${params.add(filters.limit, 'int')}`,
      params.values,
    );
    return {
      movies: rows.map((row) => this.ranked(row, prior, filters.rankBy)),
      rankBy: filters.rankBy,
      prior,
    };
  }

  private ranked(row: AggregateRow, prior: Prior & { z: number }, rankBy: RankBy): RankedMovie {
    const rating = bayesianRatingOf(row, prior);
    return { ...rating, score: rankBy === 'weighted' ? rating.weighted : rating.lower };
  }
}

/**
 * What a trending answer depends on, once validated and its window end resolved: the whole
 * validated request (so a field added to it later separates entries without a change here), with
 * genres and exclusions as sets so that requests meaning the same share a key. A window ending
 * "now" is keyed without the time, or no two requests would share it; the answer carries the asOf
 * it was computed for.
 */
function trendingKey(request: ValidatedTrending, asOf: Date, source: AsOfSource): string {
  const asSet = <T extends string | number>(values: readonly T[] | null) =>
    values === null ? null : [...new Set(values)].sort();
  return JSON.stringify({
    ...request,
    asOf: source === 'now' ? null : asOf.getTime(),
    source,
    genres: asSet(request.genres),
    exclude: asSet(request.exclude),
  });
}

function bayesianRatingOf(
  row: AggregateRow,
  prior: Prior & { z: number },
): BayesianRating & { movieId: number } {
  const { weighted, mean, votes, lower, upper } = estimate(aggregateOf(row), prior, prior.z);
  return { movieId: row.movie_id, weighted, mean, votes, lower, upper };
}

function aggregateOf(row: AggregateRow): RatingAggregate {
  return { votes: row.n, sum: row.s, sumOfSquares: row.q };
}
