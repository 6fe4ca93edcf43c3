import { TRENDING_CACHE_MAX_AGE_MS_DEFAULT } from '../../config';
import { EngineInputError } from '../engine';
import { DEFAULT_Z } from './bayes';

export type RankBy = 'weighted' | 'lowerBound';

export interface StatisticalEngineOptions {
  /**
   * m, the prior's weight in votes, for every ranking. Unset: taken from the data as the
   * `priorQuantile` of per-movie vote counts among movies with at least one vote (for trending:
   * among the window's movies, in decayed votes), because a fixed m such as IMDb's 25,000 (or the
   * common 1,000) would drown every movie of a small catalog in the prior.
   */
  priorWeight?: number;
  /** Which quantile of vote counts sets the default m; 0.9 (the 90th percentile). */
  priorQuantile?: number;
  /** Half-width of the confidence bounds in standard errors; 1.96 ≈ 95%. */
  z?: number;
  /** The ranking key of topRated and trending when a call does not choose; 'weighted'. Personal lists rank by appeal. */
  rankBy?: RankBy;
  /** Trending lookback in days when a call does not choose; 30. */
  trendingWindowDays?: number;
  /** Trending decay half-life in days when a call does not choose; null (no decay). */
  trendingHalfLifeDays?: number | null;
  /** The largest `limit` a call may ask for; 1000. */
  maxLimit?: number;
  /** How long globalStats() (C, σ², the default m) may be reused; 10 s. 0 queries them every time. */
  globalStatsMaxAgeMs?: number;
  /**
   * How long the global statistics and the ranking snapshot are kept past globalStatsMaxAgeMs while
   * this instance knows of no rating written since (src/cache/unchanged-reuse.ts); 5 min.
   */
  unchangedStatsMaxAgeMs?: number;
  /**
   * How long a trending answer may be reused (TRENDING_CACHE_MAX_AGE_MS); 10 s. 0 computes every
   * request (identical requests in flight at once still share one computation).
   */
  trendingCacheMaxAgeMs?: number;
  /** Trending answers kept at most (one per distinct request), least recently used dropped first; 256. */
  trendingCacheEntries?: number;
  /** The current time (trending's "now", the stats cache's age); injectable for tests. */
  clock?: () => Date;
}

export interface ResolvedEngineOptions {
  priorWeight: number | null;
  priorQuantile: number;
  z: number;
  rankBy: RankBy;
  trendingWindowDays: number;
  trendingHalfLifeDays: number | null;
  maxLimit: number;
  globalStatsMaxAgeMs: number;
  unchangedStatsMaxAgeMs: number;
  trendingCacheMaxAgeMs: number;
  trendingCacheEntries: number;
  clock: () => Date;
}

/** Filters and knobs shared by topRated and trending. */
export interface RankingOptions {
  limit: number;
  /** Movies having any of these genres; empty or absent means all. */
  genres?: readonly string[];
  /** Only movies with at least this many votes (for trending: undecayed votes inside the window); 0. */
  minVotes?: number;
  /** Inclusive release-year range. */
  yearFrom?: number;
  yearTo?: number;
  exclude?: ReadonlySet<number> | readonly number[];
  rankBy?: RankBy;
  /** Overrides the engine's m for this call. */
  priorWeight?: number;
  z?: number;
}

export interface TrendingOptions extends RankingOptions {
  windowDays?: number;
  /** Exponential decay of each rating's weight by age; null or absent (and no engine default) = none. */
  halfLifeDays?: number | null;
  /** The end of the window; see resolveTrendingAsOf for the default. */
  asOf?: Date;
}

export interface ValidatedRanking {
  limit: number;
  genres: string[] | null;
  minVotes: number;
  yearFrom: number | null;
  yearTo: number | null;
  exclude: number[];
  rankBy: RankBy;
  priorWeight: number | null;
  z: number;
}

export interface ValidatedTrending extends ValidatedRanking {
  windowDays: number;
  halfLifeDays: number | null;
  asOf: Date | null;
}

const RANK_BY: readonly RankBy[] = ['weighted', 'lowerBound'];

function fail(message: string): never {
  throw new EngineInputError(message);
}

function positiveNumber(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    fail(`${what} must be a positive number, got ${String(value)}`);
  return value;
}

function integerBetween(value: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    fail(`${what} must be an integer between ${min} and ${max}, got ${String(value)}`);
  return value;
}

export function validatePriorWeight(value: number, what = 'priorWeight (m)'): number {
  return positiveNumber(value, what);
}

function validateRankBy(value: string): RankBy {
  if (!(RANK_BY as readonly string[]).includes(value))
    fail(`rankBy must be one of ${RANK_BY.join(', ')}, got "${value}"`);
  return value as RankBy;
}

export function resolveEngineOptions(options: StatisticalEngineOptions = {}): ResolvedEngineOptions {
  const priorQuantile = options.priorQuantile ?? 0.9;
  if (!(priorQuantile > 0 && priorQuantile <= 1))
    fail(`priorQuantile must be within (0, 1], got ${String(priorQuantile)}`);
  const halfLife = options.trendingHalfLifeDays ?? null;
  return {
    priorWeight: options.priorWeight === undefined ? null : validatePriorWeight(options.priorWeight),
    priorQuantile,
    z: positiveNumber(options.z ?? DEFAULT_Z, 'z'),
    rankBy: validateRankBy(options.rankBy ?? 'weighted'),
    trendingWindowDays: positiveNumber(options.trendingWindowDays ?? 30, 'trendingWindowDays'),
    trendingHalfLifeDays: halfLife === null ? null : positiveNumber(halfLife, 'trendingHalfLifeDays'),
    maxLimit: integerBetween(options.maxLimit ?? 1000, 'maxLimit', 1, 1_000_000),
    globalStatsMaxAgeMs: integerBetween(
      options.globalStatsMaxAgeMs ?? 10_000,
      'globalStatsMaxAgeMs',
      0,
      86_400_000,
    ),
    unchangedStatsMaxAgeMs: integerBetween(
      options.unchangedStatsMaxAgeMs ?? 300_000,
      'unchangedStatsMaxAgeMs',
      0,
      86_400_000,
    ),
    trendingCacheMaxAgeMs: integerBetween(
      options.trendingCacheMaxAgeMs ?? TRENDING_CACHE_MAX_AGE_MS_DEFAULT,
      'trendingCacheMaxAgeMs',
      0,
      86_400_000,
    ),
    trendingCacheEntries: integerBetween(
      options.trendingCacheEntries ?? 256,
      'trendingCacheEntries',
      1,
      1_000_000,
    ),
    clock: options.clock ?? (() => new Date()),
  };
}

export function validateLimit(limit: number, maxLimit: number): number {
  return integerBetween(limit, 'limit', 1, maxLimit);
}

export function validatePositiveId(id: number, what = 'movie id'): number {
  return integerBetween(id, what, 1, 2147483647);
}

function validateYear(value: number | undefined, what: string): number | null {
  return value === undefined ? null : integerBetween(value, what, 0, 9999);
}

export function validateRanking(options: RankingOptions, engine: ResolvedEngineOptions): ValidatedRanking {
  const yearFrom = validateYear(options.yearFrom, 'yearFrom');
  const yearTo = validateYear(options.yearTo, 'yearTo');
  if (yearFrom !== null && yearTo !== null && yearFrom > yearTo)
    fail(`yearFrom (${yearFrom}) must not be after yearTo (${yearTo})`);
  const genres = options.genres?.length ? [...options.genres] : null;
  if (genres?.some((genre) => typeof genre !== 'string' || genre.trim() === ''))
    fail('genres must be non-empty strings');
  const exclude = [...(options.exclude ?? [])].map((id) => validatePositiveId(id, 'excluded movie id'));
  return {
    limit: validateLimit(options.limit, engine.maxLimit),
    genres,
    minVotes: integerBetween(options.minVotes ?? 0, 'minVotes', 0, 2147483647),
    yearFrom,
    yearTo,
    exclude,
    rankBy: validateRankBy(options.rankBy ?? engine.rankBy),
    priorWeight:
      options.priorWeight === undefined ? engine.priorWeight : validatePriorWeight(options.priorWeight),
    z: options.z === undefined ? engine.z : positiveNumber(options.z, 'z'),
  };
}

export function validateTrending(options: TrendingOptions, engine: ResolvedEngineOptions): ValidatedTrending {
  const windowDays = options.windowDays ?? engine.trendingWindowDays;
  if (typeof windowDays !== 'number' || !Number.isFinite(windowDays) || windowDays <= 0)
    fail(`windowDays must be a positive number of days, got ${String(windowDays)}`);
  const halfLifeDays =
    options.halfLifeDays === undefined ? engine.trendingHalfLifeDays : options.halfLifeDays;
  if (halfLifeDays !== null) positiveNumber(halfLifeDays, 'halfLifeDays');
  const asOf = options.asOf ?? null;
  if (asOf !== null && (!(asOf instanceof Date) || Number.isNaN(asOf.getTime())))
    fail(`asOf must be a valid date, got ${String(asOf)}`);
  return { ...validateRanking(options, engine), windowDays, halfLifeDays, asOf };
}

export type AsOfSource = 'requested' | 'now' | 'newestRating';

const DAY_MS = 86_400_000;

/**
 * Where a trending window ends when the caller does not say: now, unless the newest rating is older
 * than the window (historical data such as MovieLens, which ends in 2018), in which case the newest
 * rating's time, so that trending on a historical dump shows its last weeks instead of nothing.
 */
export function resolveTrendingAsOf(
  requested: Date | null,
  now: Date,
  newestRating: Date | null,
  windowDays: number,
): { asOf: Date; source: AsOfSource } {
  if (requested) return { asOf: requested, source: 'requested' };
  if (newestRating && now.getTime() - newestRating.getTime() > windowDays * DAY_MS)
    return { asOf: newestRating, source: 'newestRating' };
  return { asOf: now, source: 'now' };
}

export function windowStart(asOf: Date, windowDays: number): Date {
  return new Date(asOf.getTime() - windowDays * DAY_MS);
}
