import { StatisticalAggregates1764000200000 } from '../../../migrations/1764000200000-StatisticalAggregates';
import { refreshRatingStats } from '../../../src/engines/statistical/aggregates';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import {
  DAY_MS,
  insertMovies,
  insertRatings,
  maintainedStats,
  RatingSpec,
  recomputedStats,
  seededRandom,
} from './dataset';

const BASE = new Date('2018-01-01T00:00:00Z');
const at = (days: number) => new Date(BASE.getTime() + days * DAY_MS);

describe('movie_rating_stats maintenance', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await insertMovies(
      db.dataSource,
      Array.from({ length: 12 }, (_, i) => ({ id: i + 1 })),
    );
  });
  afterAll(async () => {
    await db.drop();
  });

  beforeEach(async () => {
    await db.dataSource.query(`DELETE FROM ratings`);
  });

  async function expectConsistent(): Promise<void> {
    expect(await maintainedStats(db.dataSource)).toEqual(await recomputedStats(db.dataSource));
  }

  it('aggregates a multi-row insert in one statement', async () => {
    await insertRatings(db.dataSource, [
      { userId: 1, movieId: 1, rating: 4, ratedAt: at(1) },
      { userId: 2, movieId: 1, rating: 2.5, ratedAt: at(3) },
      { userId: 3, movieId: 1, rating: 5, ratedAt: at(2) },
      { userId: 1, movieId: 2, rating: 0.5, ratedAt: at(5) },
    ]);
    expect(await maintainedStats(db.dataSource)).toEqual([
      {
        movieId: 1,
        votes: 3,
        ratingSum: 11.5,
        ratingSqSum: 47.25,
        lastRatedAt: '2018-01-04T00:00:00.000000',
      },
      { movieId: 2, votes: 1, ratingSum: 0.5, ratingSqSum: 0.25, lastRatedAt: '2018-01-06T00:00:00.000000' },
    ]);
    await insertRatings(db.dataSource, [{ userId: 4, movieId: 1, rating: 3, ratedAt: at(0) }]);
    await expectConsistent();
  });

  it('follows rating changes, including a changed time and a rating moved to another movie', async () => {
    await insertRatings(db.dataSource, [
      { userId: 1, movieId: 1, rating: 4, ratedAt: at(1) },
      { userId: 2, movieId: 1, rating: 2, ratedAt: at(9) },
      { userId: 1, movieId: 2, rating: 3, ratedAt: at(2) },
    ]);
    await db.dataSource.query(`UPDATE ratings SET rating = 5 WHERE user_id = 1 AND movie_id = 1`);
    await expectConsistent();
    // The newest rating of movie 1 moves back in time: its last_rated_at must fall back to day 1.
    await db.dataSource.query(`UPDATE ratings SET rated_at = $1 WHERE user_id = 2 AND movie_id = 1`, [at(0)]);
    await expectConsistent();
    expect((await maintainedStats(db.dataSource))[0].lastRatedAt).toBe('2018-01-02T00:00:00.000000');
    await db.dataSource.query(`UPDATE ratings SET movie_id = 3 WHERE user_id = 1 AND movie_id = 2`);
    await expectConsistent();
    expect((await maintainedStats(db.dataSource)).map((row) => row.movieId)).toEqual([1, 3]);
    await db.dataSource.query(
      `UPDATE ratings SET rating = rating / 2 + 0.5, rated_at = rated_at + interval '1 day'`,
    );
    await expectConsistent();
  });

  it('follows an upsert that inserts some ratings and updates others in one statement', async () => {
    await insertRatings(db.dataSource, [
      { userId: 1, movieId: 1, rating: 4, ratedAt: at(5) },
      { userId: 2, movieId: 1, rating: 2, ratedAt: at(9) },
    ]);
    await db.dataSource.query(`INSERT INTO users (id) VALUES (3) ON CONFLICT DO NOTHING`);
    await db.dataSource.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
       VALUES (2, 1, 5, $1), (3, 1, 1, $2), (3, 2, 3.5, $2)
       ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at`,
      [at(1), at(3)],
    );
    await expectConsistent();
    expect((await maintainedStats(db.dataSource))[0]).toMatchObject({ votes: 3, ratingSum: 10 });
  });

  it('follows deletes, dropping movies left without votes and recomputing the newest time', async () => {
    await insertRatings(db.dataSource, [
      { userId: 1, movieId: 1, rating: 4, ratedAt: at(1) },
      { userId: 2, movieId: 1, rating: 2, ratedAt: at(9) },
      { userId: 3, movieId: 1, rating: 3.5, ratedAt: at(4) },
      { userId: 1, movieId: 2, rating: 3, ratedAt: at(2) },
    ]);
    await db.dataSource.query(`DELETE FROM ratings WHERE user_id = 2 AND movie_id = 1`);
    await expectConsistent();
    expect((await maintainedStats(db.dataSource))[0].lastRatedAt).toBe('2018-01-05T00:00:00.000000');
    await db.dataSource.query(`DELETE FROM ratings WHERE movie_id = 2`);
    await expectConsistent();
    expect((await maintainedStats(db.dataSource)).map((row) => row.movieId)).toEqual([1]);
  });

  it('follows cascades from deleted users and movies, and a truncate', async () => {
    await insertRatings(db.dataSource, [
      { userId: 1, movieId: 11, rating: 4, ratedAt: at(1) },
      { userId: 2, movieId: 11, rating: 2, ratedAt: at(9) },
      { userId: 2, movieId: 12, rating: 3, ratedAt: at(3) },
      { userId: 1, movieId: 10, rating: 1, ratedAt: at(3) },
    ]);
    await db.dataSource.query(`DELETE FROM users WHERE id = 2`);
    await expectConsistent();
    await db.dataSource.query(`DELETE FROM movies WHERE id = 11`);
    await expectConsistent();
    expect((await maintainedStats(db.dataSource)).map((row) => row.movieId)).toEqual([10]);
    await db.dataSource.query(`TRUNCATE ratings`);
    expect(await maintainedStats(db.dataSource)).toEqual([]);
  });

  it('stays exact through a long random mix of writes in and out of transactions', async () => {
    const random = seededRandom(20240601);
    const pick = (n: number) => Math.floor(random() * n);
    const present = new Map<string, RatingSpec>();
    for (let step = 0; step < 120; step++) {
      const kind = pick(5);
      if (kind <= 1) {
        const batch: RatingSpec[] = [];
        for (let k = 1 + pick(6); k > 0; k--) {
          const rating = {
            userId: 1 + pick(8),
            movieId: 1 + pick(10),
            rating: (1 + pick(10)) / 2,
            ratedAt: at(pick(60)),
          };
          const key = `${rating.userId}:${rating.movieId}`;
          if (present.has(key) || batch.some((b) => `${b.userId}:${b.movieId}` === key)) continue;
          batch.push(rating);
        }
        if (batch.length === 0) continue;
        await insertRatings(db.dataSource, batch);
        for (const rating of batch) present.set(`${rating.userId}:${rating.movieId}`, rating);
      } else if (kind === 2) {
        await db.dataSource.query(`UPDATE ratings SET rating = $1, rated_at = $2 WHERE user_id = $3`, [
          (1 + pick(10)) / 2,
          at(pick(60)),
          1 + pick(8),
        ]);
      } else if (kind === 3) {
        await db.dataSource.query(`DELETE FROM ratings WHERE movie_id = $1 AND user_id <= $2`, [
          1 + pick(10),
          pick(8),
        ]);
      } else {
        await db.dataSource.transaction(async (manager) => {
          await manager.query(`DELETE FROM ratings WHERE user_id = $1`, [1 + pick(8)]);
          await manager.query(`UPDATE ratings SET rating = 5 WHERE movie_id = $1`, [1 + pick(10)]);
        });
      }
      const rows: { user_id: number; movie_id: number }[] = await db.dataSource.query(
        `SELECT user_id, movie_id FROM ratings`,
      );
      const keys = new Set(rows.map((row) => `${row.user_id}:${row.movie_id}`));
      for (const key of [...present.keys()]) if (!keys.has(key)) present.delete(key);
      if (step % 10 === 9) await expectConsistent();
    }
    expect(present.size).toBeGreaterThan(0);
    await expectConsistent();
  });

  it('is rebuilt exactly by a refresh, and by the migration on a database that already has ratings', async () => {
    await insertRatings(db.dataSource, [
      { userId: 1, movieId: 1, rating: 4, ratedAt: at(1) },
      { userId: 2, movieId: 1, rating: 2, ratedAt: at(9) },
      { userId: 1, movieId: 5, rating: 3, ratedAt: at(2) },
    ]);
    const expected = await recomputedStats(db.dataSource);
    await db.dataSource.query(`UPDATE movie_rating_stats SET votes = 99, rating_sum = 0`);
    await db.dataSource.query(`INSERT INTO movie_rating_stats VALUES (7, 1, 1, 1, now())`);
    expect(await refreshRatingStats(db.dataSource)).toEqual({ movies: 2, votes: 3 });
    expect(await maintainedStats(db.dataSource)).toEqual(expected);

    const migration = new StatisticalAggregates1764000200000();
    const runner = db.dataSource.createQueryRunner();
    try {
      await migration.down(runner);
      await insertRatings(db.dataSource, [{ userId: 3, movieId: 5, rating: 5, ratedAt: at(3) }]);
      await migration.up(runner);
    } finally {
      await runner.release();
    }
    await expectConsistent();
    expect(await maintainedStats(db.dataSource)).toHaveLength(2);
  });
});
