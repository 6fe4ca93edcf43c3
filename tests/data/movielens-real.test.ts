import path from 'node:path';
import { importRelease } from '../../src/data/importer';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/** The real ml-latest-small, when MOVIELENS_DIR points at it (CI: MOVIELENS_DIR=../shared/data/ml-latest-small). */
const releaseDir = process.env.MOVIELENS_DIR ? path.resolve(process.env.MOVIELENS_DIR) : null;
if (!releaseDir) {
  console.warn(
    'skipping the real ml-latest-small import: set MOVIELENS_DIR to the release directory to run it',
  );
}

(releaseDir ? describe : describe.skip)('importing the real ml-latest-small', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  const counts = async () =>
    (
      await db.dataSource.query(`
        SELECT (SELECT count(*) FROM movies)::int AS movies, (SELECT count(*) FROM users)::int AS users,
               (SELECT count(*) FROM ratings)::int AS ratings, (SELECT count(*) FROM tags)::int AS tags`)
    )[0];

  it('imports every movie, user, rating and tag', async () => {
    const summary = await importRelease(db.dataSource, releaseDir!);
    expect(summary).toMatchObject({
      format: 'ml-latest',
      movies: 9742,
      users: 610,
      ratings: 100836,
      tags: 3683,
    });
    expect(await counts()).toEqual({ movies: 9742, users: 610, ratings: 100836, tags: 3683 });

    const movies = await db.dataSource.query(
      `SELECT id, title, year, genres, imdb_id, tmdb_id FROM movies WHERE id IN (1, 11, 143410) ORDER BY id`,
    );
    expect(movies).toEqual([
      {
        id: 1,
        title: 'Toy Story',
        year: 1995,
        genres: ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy'],
        imdb_id: 'tt0114709',
        tmdb_id: 862,
      },
      {
        id: 11,
        title: 'American President, The',
        year: 1995,
        genres: ['Comedy', 'Drama', 'Romance'],
        imdb_id: 'tt0112346',
        tmdb_id: 9087,
      },
      { id: 143410, title: 'Hyena Road', year: null, genres: [], imdb_id: 'tt4034452', tmdb_id: 316042 },
    ]);
    const [mean] = await db.dataSource.query(
      `SELECT round(avg(rating)::numeric, 4)::float8 AS value FROM ratings`,
    );
    expect(mean.value).toBeCloseTo(3.5016, 4);
  });

  it('re-imports to the same counts', async () => {
    const summary = await importRelease(db.dataSource, releaseDir!);
    expect(summary.ratings).toBe(100836);
    expect(await counts()).toEqual({ movies: 9742, users: 610, ratings: 100836, tags: 3683 });
  });
});
