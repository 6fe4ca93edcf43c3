import { EngineInputError, ScoredMovie } from '../../../src/engines/engine';
import { estimate, percentile } from '../../../src/engines/statistical/bayes';
import { Versions } from '../../../src/cache';
import { StatisticalEngine } from '../../../src/engines/statistical/statistical-engine';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { insertMovies, insertRatings, RatingSpec, seededRandom } from './dataset';

/*
 * Hand-computed reference: 25 votes, Σr = 92.5, Σr² = 369.75, so C = 3.7 and the global variance is
 * 14.79 − 3.7² = 1.1. Vote counts 1 2 3 4 5 10 give m = p90 = 5 + 0.5·(10 − 5) = 7.5.
 *
 *   movie  votes  Σr    Σr²     WR (m = 7.5)          lower (z = 1.96)
 *   1      5      24    116     51.75/12.5 = 4.14     4.14 − 1.96·√9.05/12.5 = 3.668295
 *   2      1      5     25      32.75/8.5 = 3.852941  3.190627
 *   3      10     30    90      57.75/17.5 = 3.3      2.978304
 *   4      4      17    73      44.75/11.5 = 3.891304 3.38
 *   5      2      3     5       30.75/9.5 = 3.236842  2.626552
 *   6      3      13.5  60.75   41.25/10.5 = 3.928571 3.392412
 *   7      unrated
 *
 * Personal lists rank by appeal = WR·ln(1 + votes): 3 (7.913), 1 (7.418), 4 (6.263), 6 (5.446),
 * 5 (3.556), 2 (2.671).
 */
const MOVIES = [
  { id: 1, year: 1995, genres: ['Action', 'Crime'] },
  { id: 2, year: 1999, genres: ['Drama'] },
  { id: 3, year: 2005, genres: ['Comedy'] },
  { id: 4, year: 2010, genres: ['Drama', 'Romance'] },
  { id: 5, year: 1980, genres: ['Horror'] },
  { id: 6, year: 2001, genres: ['Comedy', 'Drama'] },
  { id: 7, year: 2015, genres: ['Action'] },
];

const RATED_AT = new Date('2018-09-01T00:00:00Z');

function ratingsOf(movieId: number, users: number[], values: number[]): RatingSpec[] {
  return users.map((userId, i) => ({ userId, movieId, rating: values[i], ratedAt: RATED_AT }));
}

const RATINGS: RatingSpec[] = [
  ...ratingsOf(1, [1, 2, 3, 4, 5], [5, 5, 5, 5, 4]),
  ...ratingsOf(2, [6], [5]),
  ...ratingsOf(3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Array(10).fill(3)),
  ...ratingsOf(4, [7, 8, 9, 10], [4, 4, 4, 5]),
  ...ratingsOf(5, [9, 10], [1, 2]),
  ...ratingsOf(6, [2, 3, 4], [4.5, 4.5, 4.5]),
];

const ids = (movies: { movieId: number }[]) => movies.map((m) => m.movieId);

/** The fields a caller reads (reasons are worked out on first read, so they are getters). */
const plain = (movie: ScoredMovie) => ({ movieId: movie.movieId, score: movie.score, reason: movie.reason });

describe('StatisticalEngine (all-time rankings)', () => {
  let db: TestDatabase;
  let engine: StatisticalEngine;

  beforeAll(async () => {
    db = await createTestDatabase();
    await insertMovies(db.dataSource, MOVIES);
    await insertRatings(db.dataSource, RATINGS);
    engine = new StatisticalEngine(db.dataSource);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('derives the global mean, variance and default m from the data', async () => {
    const stats = await engine.globalStats();
    expect(stats).toMatchObject({
      ratedMovies: 6,
      votes: 25,
      priorWeightSource: 'quantile',
      priorQuantile: 0.9,
      z: 1.96,
      newestRatingAt: RATED_AT,
    });
    expect(stats.mean).toBeCloseTo(3.7, 12);
    expect(stats.variance).toBeCloseTo(1.1, 12);
    expect(stats.priorWeight).toBeCloseTo(7.5, 12);
    expect(stats.priorWeight).toBeCloseTo(percentile([5, 1, 10, 4, 2, 3], 0.9), 12);
    const description = await engine.describe();
    expect(description.priorWeight).toBe(
      'm = the 90th percentile of per-movie vote counts among movies with at least one vote = 7.5',
    );
    expect(description.bounds).toMatch(/WR ± 1\.96·σ\/√\(v\+m\)/);
  });

  it('ranks by the Bayesian weighted rating with bounds', async () => {
    const { movies, prior, rankBy } = await engine.topRated({ limit: 10 });
    expect(rankBy).toBe('weighted');
    expect(prior).toMatchObject({ weight: 7.5, weightSource: 'quantile', z: 1.96 });
    expect(ids(movies)).toEqual([1, 6, 4, 2, 3, 5]);
    const expected: Record<number, [number, number]> = {
      1: [4.14, 3.668295],
      6: [3.928571, 3.392412],
      4: [3.891304, 3.38],
      2: [3.852941, 3.190627],
      3: [3.3, 2.978304],
      5: [3.236842, 2.626552],
    };
    for (const movie of movies) {
      const [weighted, lower] = expected[movie.movieId];
      expect(movie.score).toBe(movie.weighted);
      expect(movie.weighted).toBeCloseTo(weighted, 6);
      expect(movie.lower).toBeCloseTo(lower, 6);
      expect(movie.upper).toBeCloseTo(2 * weighted - lower, 5);
    }
    expect(movies[0]).toMatchObject({ movieId: 1, votes: 5, mean: 4.8 });
  });

  it('ranks by the lower bound on request, which demotes a movie resting on one vote', async () => {
    // With m = 1, movie 2's single 5★ puts it second by WR (4.35) but fourth by its lower bound (3.32).
    const weighted = await engine.topRated({ limit: 10, priorWeight: 1 });
    expect(ids(weighted.movies)).toEqual([1, 2, 6, 4, 3, 5]);
    expect(weighted.movies[1].weighted).toBeCloseTo(4.35, 12);
    const cautious = await engine.topRated({ limit: 10, priorWeight: 1, rankBy: 'lowerBound' });
    expect(cautious.prior).toMatchObject({ weight: 1, weightSource: 'configured' });
    expect(ids(cautious.movies)).toEqual([1, 6, 4, 2, 3, 5]);
    expect(cautious.movies.map((m) => m.score)).toEqual(cautious.movies.map((m) => m.lower));
    expect(cautious.movies[3].lower).toBeCloseTo(4.35 - 1.96 * (Math.sqrt(1.1) / 2), 9);
  });

  it('honours a configured m and z', async () => {
    const configured = new StatisticalEngine(db.dataSource, { priorWeight: 1, z: 1 });
    expect(await configured.globalStats()).toMatchObject({
      priorWeight: 1,
      priorWeightSource: 'configured',
      z: 1,
    });
    const { movies } = await configured.topRated({ limit: 1 });
    // Movie 1 with m = 1: WR = 27.7/6, σ = √(0.8 + 1.1)/6.
    expect(movies[0].weighted).toBeCloseTo(27.7 / 6, 12);
    expect(movies[0].upper - movies[0].weighted).toBeCloseTo(Math.sqrt(1.9) / 6, 12);
    expect((await configured.describe()).priorWeight).toBe('m = 1 (configured)');
  });

  it('filters by genre, votes, years, exclusions and limit without changing the prior', async () => {
    const drama = await engine.topRated({ limit: 10, genres: ['Drama'] });
    expect(ids(drama.movies)).toEqual([6, 4, 2]);
    expect(drama.prior?.weight).toBe(7.5);
    expect(drama.movies[0].weighted).toBeCloseTo(3.928571, 6);
    expect(ids((await engine.topRated({ limit: 10, genres: ['Drama', 'Action'] })).movies)).toEqual([
      1, 6, 4, 2,
    ]);
    expect(ids((await engine.topRated({ limit: 10, genres: ['Western'] })).movies)).toEqual([]);
    expect(ids((await engine.topRated({ limit: 10, minVotes: 4 })).movies)).toEqual([1, 4, 3]);
    expect(ids((await engine.topRated({ limit: 10, yearFrom: 1999, yearTo: 2005 })).movies)).toEqual([
      6, 2, 3,
    ]);
    expect(ids((await engine.topRated({ limit: 10, yearFrom: 2005 })).movies)).toEqual([4, 3]);
    expect(ids((await engine.topRated({ limit: 10, exclude: new Set([1, 6]) })).movies)).toEqual([
      4, 2, 3, 5,
    ]);
    expect(ids((await engine.topRated({ limit: 10, exclude: [4] })).movies)).toEqual([1, 6, 2, 3, 5]);
    expect(ids((await engine.topRated({ limit: 2 })).movies)).toEqual([1, 6]);
  });

  it('recommends unseen movies by appeal (WR × ln(1 + votes)) with a reason', async () => {
    // User 1 rated movies 1 and 3.
    const forUser1 = await engine.recommend({ userId: 1, limit: 10 });
    expect(ids(forUser1)).toEqual([4, 6, 5, 2]);
    expect(plain(forUser1[1])).toEqual({
      movieId: 6,
      score: expect.closeTo((41.25 / 10.5) * Math.log(4), 6),
      reason: 'rated 4.5★ by 3 people',
    });
    expect(forUser1[3].reason).toBe('rated 5.0★ by 1 person');
    expect(forUser1.every((m) => m.evidence === undefined)).toBe(true);
    // User 6 rated movies 2 and 3; the many-voted, middling movie 3 leads for a newcomer.
    expect(ids(await engine.recommend({ userId: 6, limit: 10 }))).toEqual([1, 4, 6, 5]);
    expect(ids(await engine.recommend({ userId: 99, limit: 10 }))).toEqual([3, 1, 4, 6, 5, 2]);
    const filtered = await engine.recommend({
      userId: 1,
      limit: 10,
      genres: ['Drama'],
      exclude: new Set([4]),
    });
    expect(ids(filtered)).toEqual([6, 2]);
    expect(engine.status()).toEqual({ ready: true });
  });

  it('scores given movies in a batch', async () => {
    const ratings = await engine.bayesianRatings([2, 7, 1, 2, 999]);
    expect([...ratings.keys()].sort()).toEqual([1, 2]);
    expect(ratings.get(1)).toEqual({
      weighted: expect.closeTo(4.14, 9),
      mean: 4.8,
      votes: 5,
      lower: expect.closeTo(3.668295, 6),
      upper: expect.closeTo(4.611705, 6),
    });
    expect(await engine.bayesianRatings([])).toEqual(new Map());
    const scored = await engine.scoreMovies(1, [1, 7]);
    expect([...scored.keys()]).toEqual([1]);
    expect(plain(scored.get(1)!)).toEqual({
      movieId: 1,
      score: expect.closeTo(4.14 * Math.log(6), 9),
      reason: 'rated 4.8★ by 5 people',
    });
  });

  it('rejects bad input with clear messages', async () => {
    const rejects = (promise: Promise<unknown>, message: RegExp) =>
      expect(promise).rejects.toThrow(
        expect.objectContaining({ name: 'EngineInputError', message: expect.stringMatching(message) }),
      );
    expect(() => new StatisticalEngine(db.dataSource, { priorWeight: 0 })).toThrow(EngineInputError);
    expect(() => new StatisticalEngine(db.dataSource, { priorWeight: -3 })).toThrow(
      'priorWeight (m) must be a positive number, got -3',
    );
    expect(() => new StatisticalEngine(db.dataSource, { trendingWindowDays: -1 })).toThrow(
      'trendingWindowDays must be a positive number, got -1',
    );
    expect(() => new StatisticalEngine(db.dataSource, { priorQuantile: 0 })).toThrow(
      /priorQuantile must be within/,
    );
    await rejects(
      engine.topRated({ limit: 10, priorWeight: 0 }),
      /^priorWeight \(m\) must be a positive number, got 0$/,
    );
    await rejects(
      engine.topRated({ limit: 10, priorWeight: Number.NaN }),
      /priorWeight \(m\) must be a positive/,
    );
    await rejects(engine.topRated({ limit: 0 }), /^limit must be an integer between 1 and 1000, got 0$/);
    await rejects(engine.topRated({ limit: 1001 }), /limit must be an integer between 1 and 1000, got 1001/);
    await rejects(engine.topRated({ limit: 2.5 }), /limit must be an integer/);
    await rejects(engine.topRated({ limit: 5, minVotes: -1 }), /minVotes must be an integer between 0/);
    await rejects(
      engine.topRated({ limit: 5, yearFrom: 2010, yearTo: 2000 }),
      /yearFrom \(2010\) must not be after yearTo \(2000\)/,
    );
    await rejects(
      engine.topRated({ limit: 5, rankBy: 'median' as never }),
      /rankBy must be one of weighted, lowerBound/,
    );
    await rejects(engine.topRated({ limit: 5, z: 0 }), /z must be a positive number/);
    await rejects(engine.topRated({ limit: 5, exclude: [0] }), /excluded movie id must be an integer/);
    await rejects(
      engine.trending({ limit: 5, windowDays: -7 }),
      /^windowDays must be a positive number of days, got -7$/,
    );
    await rejects(
      engine.trending({ limit: 5, windowDays: 0 }),
      /windowDays must be a positive number of days, got 0/,
    );
    await rejects(
      engine.trending({ limit: 5, halfLifeDays: 0 }),
      /halfLifeDays must be a positive number, got 0/,
    );
    await rejects(engine.trending({ limit: 5, asOf: new Date('nope') }), /asOf must be a valid date/);
    await rejects(engine.recommend({ userId: 0, limit: 5 }), /userId must be an integer between 1/);
    await rejects(engine.bayesianRatings([1, -2]), /movie id must be an integer between 1/);
    const small = new StatisticalEngine(db.dataSource, { maxLimit: 3 });
    await rejects(small.topRated({ limit: 4 }), /limit must be an integer between 1 and 3, got 4/);
  });
});

describe('StatisticalEngine ordering in SQL agrees with bayes.ts', () => {
  let db: TestDatabase;
  const ratings: RatingSpec[] = [];
  const movieCount = 80;

  beforeAll(async () => {
    db = await createTestDatabase();
    const random = seededRandom(7);
    await insertMovies(
      db.dataSource,
      Array.from({ length: movieCount }, (_, i) => ({ id: i + 1, year: 1990 + (i % 30), genres: ['Drama'] })),
    );
    for (let movieId = 1; movieId <= movieCount; movieId++) {
      const quality = 1 + random() * 3.5;
      const votes = 1 + Math.floor(random() ** 2 * 60);
      for (let userId = 1; userId <= votes; userId++) {
        const rating = Math.min(5, Math.max(0.5, Math.round((quality + (random() - 0.5) * 3) * 2) / 2));
        ratings.push({ userId, movieId, rating, ratedAt: RATED_AT });
      }
    }
    await insertRatings(db.dataSource, ratings);
  });
  afterAll(async () => {
    await db.drop();
  });

  it.each(['weighted', 'lowerBound'] as const)('ranks every movie by %s as bayes.ts does', async (rankBy) => {
    const engine = new StatisticalEngine(db.dataSource);
    const { movies, prior } = await engine.topRated({ limit: 1000, rankBy });

    const all = ratings.map((r) => r.rating);
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    const variance = all.reduce((a, b) => a + b * b, 0) / all.length - mean * mean;
    const votesPerMovie = Array.from({ length: movieCount }, (_, i) =>
      ratings.filter((r) => r.movieId === i + 1),
    );
    const m = percentile(
      votesPerMovie.map((list) => list.length),
      0.9,
    );
    expect(prior).toMatchObject({
      weight: m,
      mean: expect.closeTo(mean, 12),
      variance: expect.closeTo(variance, 12),
    });

    const expected = votesPerMovie
      .map((list, i) => {
        const aggregate = {
          votes: list.length,
          sum: list.reduce((a, r) => a + r.rating, 0),
          sumOfSquares: list.reduce((a, r) => a + r.rating * r.rating, 0),
        };
        const result = estimate(aggregate, { weight: m, mean, variance }, 1.96);
        return {
          movieId: i + 1,
          votes: list.length,
          score: rankBy === 'weighted' ? result.weighted : result.lower,
        };
      })
      .sort((a, b) => b.score - a.score || b.votes - a.votes || a.movieId - b.movieId);
    expect(ids(movies)).toEqual(ids(expected));
    expect(movies.map((movie) => movie.score)).toEqual(expected.map((e) => expect.closeTo(e.score, 9)));
  });
});

describe('StatisticalEngine global statistics cache', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await insertMovies(db.dataSource, [{ id: 1 }, { id: 2 }]);
    await insertRatings(db.dataSource, [{ userId: 1, movieId: 1, rating: 4, ratedAt: RATED_AT }]);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('reuses the prior for globalStatsMaxAgeMs while per-movie figures stay live', async () => {
    let now = new Date('2025-01-01T00:00:00Z');
    const engine = new StatisticalEngine(db.dataSource, { clock: () => now, globalStatsMaxAgeMs: 10_000 });
    const uncached = new StatisticalEngine(db.dataSource, { globalStatsMaxAgeMs: 0 });
    expect((await engine.globalStats()).votes).toBe(1);
    await insertRatings(db.dataSource, [
      { userId: 2, movieId: 1, rating: 2, ratedAt: RATED_AT },
      { userId: 2, movieId: 2, rating: 5, ratedAt: RATED_AT },
    ]);
    expect((await uncached.globalStats()).votes).toBe(3);
    now = new Date(now.getTime() + 9_999);
    expect(await engine.globalStats()).toMatchObject({ votes: 1, mean: 4 });
    const { movies } = await engine.topRated({ limit: 5 });
    expect(movies.map((m) => [m.movieId, m.votes, m.mean])).toEqual([
      [2, 1, 5],
      [1, 2, 3],
    ]);
    now = new Date(now.getTime() + 1);
    expect(await engine.globalStats()).toMatchObject({ votes: 3, mean: 11 / 3 });
    await db.dataSource.query(`DELETE FROM ratings WHERE user_id = 2`);
    await engine.refresh();
    expect((await engine.globalStats()).votes).toBe(1);
  });

  it('serves personal lists from a ranking snapshot, replaced in the background once it is old', async () => {
    let now = new Date('2025-01-01T00:00:00Z');
    const engine = new StatisticalEngine(db.dataSource, { clock: () => now, globalStatsMaxAgeMs: 10_000 });
    const list = async () => ids(await engine.recommend({ userId: 9, limit: 5 }));
    expect(await list()).toEqual([1]);
    await insertRatings(db.dataSource, [{ userId: 3, movieId: 2, rating: 5, ratedAt: RATED_AT }]);
    now = new Date(now.getTime() + 9_999);
    expect(await list()).toEqual([1]);
    now = new Date(now.getTime() + 1);
    // Past its age: this request still gets the old snapshot and starts loading the new one.
    expect(await list()).toEqual([1]);
    let refreshed = await list();
    for (let wait = 0; wait < 100 && refreshed.length === 1; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      refreshed = await list();
    }
    expect(refreshed).toEqual([2, 1]);
    // An import invalidates it outright: the next request waits for a fresh one.
    await db.dataSource.query(`DELETE FROM ratings WHERE user_id = 3`);
    engine.invalidateGlobalStats();
    expect(await list()).toEqual([1]);
  });

  it('loads the ranking snapshot on warm(), so the first list is answered from it', async () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const warmed = new StatisticalEngine(db.dataSource, { clock: () => now, globalStatsMaxAgeMs: 10_000 });
    const cold = new StatisticalEngine(db.dataSource, { clock: () => now, globalStatsMaxAgeMs: 10_000 });
    await warmed.warm();
    await insertRatings(db.dataSource, [{ userId: 5, movieId: 2, rating: 5, ratedAt: RATED_AT }]);
    try {
      // The warmed engine ranked before the rating; the other reads its snapshot on this first list.
      expect(ids(await warmed.recommend({ userId: 9, limit: 5 }))).toEqual([1]);
      expect(ids(await cold.recommend({ userId: 9, limit: 5 }))).toEqual([2, 1]);
    } finally {
      await db.dataSource.query(`DELETE FROM ratings WHERE user_id = 5`);
    }
  });

  it('with versions, keeps the snapshot past its age until a rating is known to be written', async () => {
    let now = new Date('2025-01-01T00:00:00Z');
    const versions = new Versions();
    const engine = new StatisticalEngine(
      db.dataSource,
      { clock: () => now, globalStatsMaxAgeMs: 10_000, unchangedStatsMaxAgeMs: 60_000 },
      undefined,
      versions,
    );
    const list = async () => ids(await engine.recommend({ userId: 9, limit: 5 }));
    const settled = async (expected: number[]) => {
      let answer = await list();
      for (let wait = 0; wait < 100 && answer.join() !== expected.join(); wait++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        answer = await list();
      }
      return answer;
    };
    expect(await list()).toEqual([1]);
    expect((await engine.globalStats()).votes).toBe(1);
    // Written behind the service's back: no notice, so the aged snapshot and statistics are kept.
    await insertRatings(db.dataSource, [{ userId: 4, movieId: 2, rating: 5, ratedAt: RATED_AT }]);
    now = new Date(now.getTime() + 10_000);
    await list();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await list()).toEqual([1]);
    expect((await engine.globalStats()).votes).toBe(1);
    // The notice of a write (any user's) makes the next reload read again.
    versions.observe({ kind: 'user', userId: 4, version: 1 });
    now = new Date(now.getTime() + 10_000);
    expect(await settled([2, 1])).toEqual([2, 1]);
    expect((await engine.globalStats()).votes).toBe(2);
    // Without any notice, at most unchangedStatsMaxAgeMs late.
    await db.dataSource.query(`DELETE FROM ratings WHERE user_id = 4`);
    now = new Date(now.getTime() + 30_000);
    await list();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await list()).toEqual([2, 1]);
    now = new Date(now.getTime() + 60_000);
    expect(await settled([1])).toEqual([1]);
    expect((await engine.globalStats()).votes).toBe(1);
  });
});
