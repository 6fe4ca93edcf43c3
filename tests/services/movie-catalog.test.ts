import { MovieCatalog } from '../../src/services/movie-catalog';
import { createTestDatabase, recordStatements, TestDatabase } from '../helpers/database';

describe('MovieCatalog.preload: the catalog in memory before requests', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(`INSERT INTO users (id) VALUES (1), (2), (3)`);
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres) VALUES
         (10, 'Ten', 1990, '{Drama}'), (20, 'Twenty', 2000, '{}'), (30, 'Thirty', NULL, '{Comedy}'), (40, 'Forty', 2010, '{}')`,
    );
    // Movie 30 has three ratings, 10 two, 40 one, 20 none.
    await db.dataSource.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES
         (1, 30, 4, now()), (2, 30, 5, now()), (3, 30, 3, now()),
         (1, 10, 2, now()), (2, 10, 4, now()), (1, 40, 5, now())`,
    );
  });
  afterAll(async () => {
    await db.drop();
  });

  it('reads the most-rated movies first, up to the limit, so lists of them send no statement', async () => {
    const catalog = new MovieCatalog(db.dataSource);
    expect(await catalog.preload(2)).toBe(2);
    let movies: Awaited<ReturnType<MovieCatalog['findByIds']>> = [];
    const cached = await recordStatements(db.dataSource, async () => {
      movies = await catalog.findByIds([30, 10]);
    });
    expect(cached).toEqual([]);
    expect(movies.map((m) => [m.id, m.title, m.year, m.genres])).toEqual([
      [30, 'Thirty', null, ['Comedy']],
      [10, 'Ten', 1990, ['Drama']],
    ]);
    const missed = await recordStatements(db.dataSource, async () => {
      await catalog.findByIds([40, 30]);
    });
    expect(missed).toHaveLength(1);
  });

  it('reads the whole catalog, unrated movies too, when it fits the cache', async () => {
    const catalog = new MovieCatalog(db.dataSource);
    expect(await catalog.preload()).toBe(4);
    const statements = await recordStatements(db.dataSource, async () => {
      expect((await catalog.findByIds([20, 40, 10, 30])).map((m) => m.id)).toEqual([20, 40, 10, 30]);
    });
    expect(statements).toEqual([]);
  });
});
