import { DataSource } from 'typeorm';
import { openDatabase } from '../../../src/db/datasource';
import { EmbeddedDatabase, startEmbeddedDatabase } from '../../../src/db/embedded';
import { StatisticalEngine } from '../../../src/engines/statistical/statistical-engine';
import { daysBefore, insertMovies, insertRatings, maintainedStats, recomputedStats } from './dataset';

const NEWEST = new Date('2018-09-24T14:27:30Z');

describe('statistical aggregates on embedded PGlite', () => {
  let embedded: EmbeddedDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    embedded = await startEmbeddedDatabase({ dataDir: null, port: 0, poolSize: 2 });
    dataSource = await openDatabase({ url: embedded.url, poolSize: 2 });
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await embedded?.stop();
  });

  it('keeps movie_rating_stats exact through inserts, updates and deletes, and ranks from it', async () => {
    await insertMovies(dataSource, [
      { id: 1, year: 1995, genres: ['Action'] },
      { id: 2, year: 2001, genres: ['Drama'] },
      { id: 3, year: 2010, genres: ['Drama'] },
    ]);
    await insertRatings(dataSource, [
      { userId: 1, movieId: 1, rating: 4, ratedAt: daysBefore(NEWEST, 100) },
      { userId: 2, movieId: 1, rating: 5, ratedAt: daysBefore(NEWEST, 2) },
      { userId: 1, movieId: 2, rating: 3, ratedAt: daysBefore(NEWEST, 1) },
      { userId: 2, movieId: 2, rating: 2.5, ratedAt: NEWEST },
      { userId: 3, movieId: 3, rating: 4.5, ratedAt: daysBefore(NEWEST, 5) },
    ]);
    expect(await maintainedStats(dataSource)).toEqual(await recomputedStats(dataSource));
    await dataSource.query(
      `UPDATE ratings SET rating = 4, rated_at = $1 WHERE user_id = 2 AND movie_id = 2`,
      [daysBefore(NEWEST, 3)],
    );
    await dataSource.query(`DELETE FROM ratings WHERE user_id = 3`);
    expect(await maintainedStats(dataSource)).toEqual(await recomputedStats(dataSource));
    expect((await maintainedStats(dataSource)).map((row) => row.movieId)).toEqual([1, 2]);

    const engine = new StatisticalEngine(dataSource, { clock: () => new Date('2025-01-01T00:00:00Z') });
    expect((await engine.topRated({ limit: 5, rankBy: 'lowerBound' })).movies.map((m) => m.movieId)).toEqual([
      1, 2,
    ]);
    const trending = await engine.trending({ limit: 5, halfLifeDays: 7 });
    expect(trending.asOfSource).toBe('newestRating');
    expect(trending.asOf).toEqual(daysBefore(NEWEST, 1));
    // Movie 1's recent 5★ outranks movie 2's 3★ and 4★ against the all-time mean of 4.
    expect(trending.movies.map((m) => ({ movieId: m.movieId, votes: m.votes }))).toEqual([
      { movieId: 1, votes: 1 },
      { movieId: 2, votes: 2 },
    ]);
  });
});
