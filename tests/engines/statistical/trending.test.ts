import { decayedAggregate, estimate, percentile } from '../../../src/engines/statistical/bayes';
import { Versions } from '../../../src/cache';
import { ConfigError, loadConfig } from '../../../src/config';
import { StatisticalEngine } from '../../../src/engines/statistical/statistical-engine';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { DAY_MS, daysBefore, insertMovies, insertRatings, RatingSpec } from './dataset';

/** The newest rating, as in a historical dump. */
const NEWEST = new Date('2018-09-24T14:27:30Z');
const FAR_LATER = new Date('2025-06-01T00:00:00Z');

const MOVIES = [
  { id: 1, year: 1995, genres: ['Action'] },
  { id: 2, year: 2018, genres: ['Drama'] },
  { id: 3, year: 2017, genres: ['Comedy'] },
  { id: 4, year: 2018, genres: ['Drama', 'Thriller'] },
  { id: 5, year: 2016, genres: ['Horror'] },
  { id: 6, year: 2000, genres: ['Comedy'] },
];

const rating = (userId: number, movieId: number, value: number, daysAgo: number): RatingSpec => ({
  userId,
  movieId,
  rating: value,
  ratedAt: daysBefore(NEWEST, daysAgo),
});

const RATINGS: RatingSpec[] = [
  // All-time history far outside any 30-day window.
  ...Array.from({ length: 10 }, (_, i) => rating(i + 1, 1, 4, 200 + i)),
  rating(11, 1, 2, 5),
  rating(1, 2, 5, 0),
  rating(2, 2, 4, 10),
  rating(3, 2, 5, 20),
  rating(4, 3, 3, 1),
  rating(5, 3, 3, 2),
  rating(6, 4, 5, 29.9),
  // Exactly 30 days before asOf: just outside the window (window is (asOf − 30 d, asOf]).
  rating(7, 5, 4, 30),
  rating(8, 6, 4.5, 3),
  rating(9, 6, 4, 40),
];

/** The reference computation in TypeScript, from the raw ratings above. */
function expectedTrending(asOf: Date, windowDays: number, halfLifeDays: number | null) {
  const all = RATINGS.map((r) => r.rating);
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  const variance = all.reduce((a, b) => a + b * b, 0) / all.length - mean * mean;
  const inWindow = RATINGS.filter(
    (r) => r.ratedAt.getTime() > asOf.getTime() - windowDays * DAY_MS && r.ratedAt <= asOf,
  );
  const byMovie = new Map<number, RatingSpec[]>();
  for (const r of inWindow) byMovie.set(r.movieId, [...(byMovie.get(r.movieId) ?? []), r]);
  const aggregates = [...byMovie].map(([movieId, list]) => ({
    movieId,
    aggregate: decayedAggregate(
      list.map((r) => r.rating),
      list.map((r) => (asOf.getTime() - r.ratedAt.getTime()) / DAY_MS),
      halfLifeDays,
    ),
  }));
  const m = percentile(
    aggregates.map((a) => a.aggregate.votes),
    0.9,
  );
  const movies = aggregates
    .map((a) => ({ movieId: a.movieId, ...estimate(a.aggregate, { weight: m, mean, variance }) }))
    // As the SQL: score, then (decayed) votes, then id.
    .sort((a, b) => b.weighted - a.weighted || b.votes - a.votes || a.movieId - b.movieId);
  return { m, mean, movies };
}

describe('StatisticalEngine.trending', () => {
  let db: TestDatabase;
  const historical = () => new StatisticalEngine(db.dataSource, { clock: () => FAR_LATER });

  beforeAll(async () => {
    db = await createTestDatabase();
    await insertMovies(db.dataSource, MOVIES);
    await insertRatings(db.dataSource, RATINGS);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('ends the window at the newest rating when the data is older than the window', async () => {
    const result = await historical().trending({ limit: 10 });
    expect(result).toMatchObject({
      asOf: NEWEST,
      asOfSource: 'newestRating',
      windowStart: daysBefore(NEWEST, 30),
      windowDays: 30,
      halfLifeDays: null,
      rankBy: 'weighted',
    });
    // In the window: movie 2 (3 votes), 3 (2), 1, 4 and 6 (1 each); counts 1 1 1 2 3 → m = 2 + 0.6 = 2.6.
    expect(result.prior).toMatchObject({ weight: expect.closeTo(2.6, 12), weightSource: 'quantile' });
    const expected = expectedTrending(NEWEST, 30, null);
    expect(expected.m).toBeCloseTo(2.6, 12);
    expect(result.movies.map((m) => m.movieId)).toEqual(expected.movies.map((m) => m.movieId));
    expect(new Set(result.movies.map((m) => m.movieId))).toEqual(new Set([1, 2, 3, 4, 6]));
    // Movie 2: votes 5, 4, 5 → mean 14/3, WR = (14 + 2.6·C) / 5.6 with C the all-time mean.
    const movie2 = result.movies.find((m) => m.movieId === 2)!;
    expect(movie2).toMatchObject({
      votes: 3,
      decayedVotes: 3,
      mean: expect.closeTo(14 / 3, 12),
      lastRatedAt: NEWEST,
    });
    expect(movie2.weighted).toBeCloseTo((14 + 2.6 * expected.mean) / 5.6, 12);
    for (const [i, movie] of result.movies.entries()) {
      expect(movie.weighted).toBeCloseTo(expected.movies[i].weighted, 12);
      expect(movie.lower).toBeCloseTo(expected.movies[i].lower, 12);
      expect(movie.upper).toBeCloseTo(expected.movies[i].upper, 12);
    }
    // Movie 1's ten old 4★ ratings do not count, only its recent 2★.
    expect(result.movies.find((m) => m.movieId === 1)).toMatchObject({ votes: 1, mean: 2 });
  });

  it('ends the window now when recent ratings exist', async () => {
    const now = new Date(NEWEST.getTime() + DAY_MS);
    const engine = new StatisticalEngine(db.dataSource, { clock: () => now });
    const result = await engine.trending({ limit: 10 });
    expect(result).toMatchObject({ asOf: now, asOfSource: 'now', windowStart: daysBefore(now, 30) });
    // Movie 4 (rated 30.9 days before now) has left the window.
    expect(result.movies.map((m) => m.movieId).sort()).toEqual([1, 2, 3, 6]);
  });

  it('ends the window at a requested time', async () => {
    const asOf = daysBefore(NEWEST, 15);
    const result = await historical().trending({ limit: 10, asOf });
    expect(result).toMatchObject({ asOf, asOfSource: 'requested' });
    // (asOf − 30 d, asOf] = 15 to 45 days before the newest rating.
    expect(result.movies.map((m) => m.movieId).sort()).toEqual([2, 4, 5, 6]);
    expect(result.movies.map((m) => m.movieId)).toEqual(
      expectedTrending(asOf, 30, null).movies.map((m) => m.movieId),
    );
    const longWindow = await historical().trending({ limit: 10, windowDays: 365 });
    expect(longWindow.movies.find((m) => m.movieId === 1)).toMatchObject({ votes: 11 });
  });

  it('weights ratings by exponential decay', async () => {
    const result = await historical().trending({ limit: 10, halfLifeDays: 10 });
    expect(result.halfLifeDays).toBe(10);
    // Movie 2: 5★ now (w = 1), 4★ 10 days ago (w = ½), 5★ 20 days ago (w = ¼): 1.75 votes, mean 8.25/1.75.
    const movie2 = result.movies.find((m) => m.movieId === 2)!;
    expect(movie2.votes).toBe(3);
    expect(movie2.decayedVotes).toBeCloseTo(1.75, 12);
    expect(movie2.mean).toBeCloseTo(8.25 / 1.75, 12);
    const expected = expectedTrending(NEWEST, 30, 10);
    expect(result.prior!.weight).toBeCloseTo(expected.m, 12);
    expect(result.movies.map((m) => m.movieId)).toEqual(expected.movies.map((m) => m.movieId));
    for (const [i, movie] of result.movies.entries()) {
      expect(movie.weighted).toBeCloseTo(expected.movies[i].weighted, 12);
      expect(movie.lower).toBeCloseTo(expected.movies[i].lower, 12);
    }
    const engineDefault = new StatisticalEngine(db.dataSource, {
      clock: () => FAR_LATER,
      trendingHalfLifeDays: 10,
    });
    const byDefault = await engineDefault.trending({ limit: 10 });
    expect(byDefault.movies.map((m) => m.decayedVotes)).toEqual(result.movies.map((m) => m.decayedVotes));
    const undecayed = await engineDefault.trending({ limit: 10, halfLifeDays: null });
    expect(undecayed.movies.find((m) => m.movieId === 2)!.decayedVotes).toBe(3);
  });

  it('filters by genre, window votes, years and exclusions', async () => {
    const engine = historical();
    const movieIds = async (options: Parameters<StatisticalEngine['trending']>[0]) =>
      (await engine.trending(options)).movies.map((m) => m.movieId).sort();
    expect(await movieIds({ limit: 10, genres: ['Comedy', 'Thriller'] })).toEqual([3, 4, 6]);
    expect(await movieIds({ limit: 10, minVotes: 2 })).toEqual([2, 3]);
    expect(await movieIds({ limit: 10, yearFrom: 2017 })).toEqual([2, 3, 4]);
    expect(await movieIds({ limit: 10, yearTo: 2000, exclude: new Set([6]) })).toEqual([1]);
    const top = await engine.trending({ limit: 2 });
    expect(top.movies.map((m) => m.movieId)).toEqual(
      expectedTrending(NEWEST, 30, null)
        .movies.slice(0, 2)
        .map((m) => m.movieId),
    );
    const filtered = await engine.trending({ limit: 10, genres: ['Comedy'] });
    expect(filtered.prior!.weight).toBeCloseTo(2.6, 12);
  });

  it('ranks by the lower bound on request and honours a configured m', async () => {
    const result = await historical().trending({ limit: 10, rankBy: 'lowerBound', priorWeight: 0.5 });
    expect(result.prior).toMatchObject({ weight: 0.5, weightSource: 'configured' });
    const scores = result.movies.map((m) => m.score);
    expect(scores).toEqual(result.movies.map((m) => m.lower));
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('returns nothing for an empty window', async () => {
    const asOf = daysBefore(NEWEST, 1000);
    expect(await historical().trending({ limit: 10, asOf })).toMatchObject({ movies: [], prior: null });
    const configured = await historical().trending({ limit: 10, asOf, priorWeight: 3 });
    expect(configured.movies).toEqual([]);
  });
});

describe('StatisticalEngine.trending on an empty database', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('answers with empty lists and no prior', async () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const engine = new StatisticalEngine(db.dataSource, { clock: () => now });
    expect(await engine.trending({ limit: 5 })).toMatchObject({
      movies: [],
      prior: null,
      asOf: now,
      asOfSource: 'now',
    });
    expect(await engine.topRated({ limit: 5 })).toEqual({ movies: [], prior: null, rankBy: 'weighted' });
    expect(await engine.recommend({ userId: 1, limit: 5 })).toEqual([]);
    expect(await engine.bayesianRatings([1])).toEqual(new Map());
    expect(await engine.globalStats()).toMatchObject({
      ratedMovies: 0,
      votes: 0,
      mean: null,
      priorWeight: null,
    });
  });
});

describe('StatisticalEngine.trending answer cache', () => {
  let db: TestDatabase;
  const START = new Date('2025-01-01T00:00:00Z');
  const recent = (userId: number, movieId: number, value: number, daysAgo: number): RatingSpec => ({
    userId,
    movieId,
    rating: value,
    ratedAt: daysBefore(START, daysAgo),
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    await insertMovies(db.dataSource, MOVIES);
    await insertRatings(db.dataSource, [
      recent(1, 1, 4, 1),
      recent(2, 1, 5, 2),
      recent(3, 2, 3, 3),
      recent(4, 3, 4.5, 4),
      recent(5, 4, 2, 5),
      recent(6, 6, 4, 6),
      recent(7, 6, 3.5, 7),
    ]);
  });
  afterAll(async () => {
    await db.drop();
  });

  const ids = (result: { movies: { movieId: number }[] }) => result.movies.map((m) => m.movieId);

  it('answers what the query computes, for every kind of request', async () => {
    const clock = () => START;
    const cached = new StatisticalEngine(db.dataSource, { clock, trendingCacheMaxAgeMs: 10_000 });
    const computing = new StatisticalEngine(db.dataSource, { clock, trendingCacheMaxAgeMs: 0 });
    const requests: Parameters<StatisticalEngine['trending']>[0][] = [
      { limit: 10 },
      { limit: 2 },
      { limit: 10, halfLifeDays: 3 },
      { limit: 10, genres: ['Comedy'], rankBy: 'lowerBound' },
      { limit: 10, minVotes: 2, priorWeight: 1, z: 1 },
      { limit: 10, yearFrom: 2016, exclude: [2] },
      { limit: 10, asOf: daysBefore(START, 3), windowDays: 2 },
    ];
    for (const request of requests) {
      const expected = await computing.trending(request);
      expect(await cached.trending(request)).toEqual(expected);
      const hits = cached.cacheCounts.trending.hits;
      // The second time from the cache, and still the same.
      expect(await cached.trending(request)).toEqual(expected);
      expect(cached.cacheCounts.trending.hits).toBe(hits + 1);
    }
  });

  it('shows a new rating once the answer is older than the max age', async () => {
    let now = START;
    const engine = new StatisticalEngine(db.dataSource, {
      clock: () => now,
      trendingCacheMaxAgeMs: 10_000,
      globalStatsMaxAgeMs: 0,
    });
    const first = await engine.trending({ limit: 10 });
    expect(first).toMatchObject({ asOf: START, asOfSource: 'now' });
    expect(ids(first)).not.toContain(5);
    await insertRatings(db.dataSource, [{ userId: 8, movieId: 5, rating: 5, ratedAt: START }]);
    try {
      // Within the max age: the same answer, saying when its window ends.
      now = new Date(START.getTime() + 9_999);
      expect(await engine.trending({ limit: 10 })).toBe(first);
      // Past it: answered once more while the new answer is computed, which the next requests get.
      now = new Date(START.getTime() + 10_000);
      expect(await engine.trending({ limit: 10 })).toBe(first);
      let refreshed = await engine.trending({ limit: 10 });
      for (let wait = 0; wait < 100 && refreshed === first; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        refreshed = await engine.trending({ limit: 10 });
      }
      expect(refreshed).toMatchObject({ asOf: now, asOfSource: 'now' });
      expect(ids(refreshed)).toContain(5);
      expect(refreshed).toEqual(
        await new StatisticalEngine(db.dataSource, { clock: () => now, trendingCacheMaxAgeMs: 0 }).trending({
          limit: 10,
        }),
      );
    } finally {
      await db.dataSource.query(`DELETE FROM ratings WHERE user_id = 8`);
    }
  });

  it('keeps requests that differ apart and shares those that mean the same', async () => {
    let now = START;
    const engine = new StatisticalEngine(db.dataSource, { clock: () => now, trendingCacheMaxAgeMs: 10_000 });
    const counts = engine.cacheCounts.trending;
    const all = await engine.trending({ limit: 10 });
    const two = await engine.trending({ limit: 2 });
    expect(ids(two)).toEqual(ids(all).slice(0, 2));
    expect(ids(await engine.trending({ limit: 10, genres: ['Comedy'] }))).toEqual([3, 6]);
    expect(ids(await engine.trending({ limit: 10, genres: ['Drama'] }))).toEqual([2, 4]);
    expect(ids(await engine.trending({ limit: 10, minVotes: 2 }))).toEqual([1, 6]);
    expect(ids(await engine.trending({ limit: 10, windowDays: 3.5 }))).toEqual([1, 2]);
    expect(ids(await engine.trending({ limit: 10, exclude: [1] }))).not.toContain(1);
    const decayed = await engine.trending({ limit: 10, halfLifeDays: 1 });
    expect(decayed.halfLifeDays).toBe(1);
    expect(decayed.movies[0].decayedVotes).not.toBe(all.movies[0].decayedVotes);
    const earlier = await engine.trending({ limit: 10, asOf: daysBefore(START, 4) });
    expect(earlier).toMatchObject({ asOfSource: 'requested', asOf: daysBefore(START, 4) });
    expect(ids(earlier)).not.toContain(1);
    expect(counts).toEqual({ hits: 0, misses: 9 });

    // The same request in other words, and a window ending "now" a few seconds later.
    now = new Date(START.getTime() + 5_000);
    expect(await engine.trending({ limit: 10, genres: ['Thriller', 'Comedy', 'Thriller'] })).toBe(
      await engine.trending({ limit: 10, genres: ['Comedy', 'Thriller'] }),
    );
    expect(await engine.trending({ limit: 10, exclude: new Set([6, 1]) })).toBe(
      await engine.trending({ limit: 10, exclude: [1, 6] }),
    );
    expect(await engine.trending({ limit: 10 })).toBe(all);
    expect(all.asOf).toEqual(START);
    expect(counts).toEqual({ hits: 3, misses: 11 });
  });

  it('holds at most trendingCacheEntries answers, dropping the least recently used', async () => {
    const engine = new StatisticalEngine(db.dataSource, {
      clock: () => START,
      trendingCacheMaxAgeMs: 10_000,
      trendingCacheEntries: 2,
    });
    const counts = engine.cacheCounts.trending;
    const first = await engine.trending({ limit: 1 });
    const second = await engine.trending({ limit: 2 });
    await engine.trending({ limit: 1 });
    await engine.trending({ limit: 3 });
    expect(counts).toEqual({ hits: 1, misses: 3 });
    // limit 2 was the least recently used of three: gone; limit 1 is still there.
    expect(await engine.trending({ limit: 1 })).toBe(first);
    const again = await engine.trending({ limit: 2 });
    expect(again).not.toBe(second);
    expect(again).toEqual(second);
    expect(counts).toEqual({ hits: 2, misses: 4 });
  });

  it('recomputes at once when the catalog changes (genre filters join movies)', async () => {
    const versions = new Versions();
    const engine = new StatisticalEngine(
      db.dataSource,
      { clock: () => START, trendingCacheMaxAgeMs: 10_000 },
      undefined,
      versions,
    );
    expect(ids(await engine.trending({ limit: 10, genres: ['Horror'] }))).toEqual([]);
    await db.dataSource.query(`UPDATE movies SET genres = '{Horror}' WHERE id = 2`);
    try {
      expect(ids(await engine.trending({ limit: 10, genres: ['Horror'] }))).toEqual([]);
      versions.observe({ kind: 'catalog', version: 1 });
      expect(ids(await engine.trending({ limit: 10, genres: ['Horror'] }))).toEqual([2]);
    } finally {
      await db.dataSource.query(`UPDATE movies SET genres = '{Drama}' WHERE id = 2`);
    }
  });
});

describe('TRENDING_CACHE_MAX_AGE_MS', () => {
  it('is 10 s unless set to a whole number of milliseconds up to an hour; 0 turns the reuse off', () => {
    expect(loadConfig({}).trendingCacheMaxAgeMs).toBe(10_000);
    expect(loadConfig({ TRENDING_CACHE_MAX_AGE_MS: '0' }).trendingCacheMaxAgeMs).toBe(0);
    expect(loadConfig({ TRENDING_CACHE_MAX_AGE_MS: '2500' }).trendingCacheMaxAgeMs).toBe(2500);
    expect(() => loadConfig({ TRENDING_CACHE_MAX_AGE_MS: '3600001' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRENDING_CACHE_MAX_AGE_MS: '5s' })).toThrow(
      /TRENDING_CACHE_MAX_AGE_MS must be a whole number/,
    );
    expect(() => new StatisticalEngine({} as never, { trendingCacheEntries: 0 })).toThrow(
      /trendingCacheEntries must be an integer between 1/,
    );
  });
});
