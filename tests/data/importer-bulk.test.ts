import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  generateSyntheticCatalog,
  writeSyntheticRelease,
  type SyntheticCatalog,
} from '../../fixtures/synthetic';
import { importRelease } from '../../src/data/importer';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/** Large enough (> 10k ratings) for the first-import path that re-adds foreign keys instead of upserting. */
describe('bulk import of a generated release', () => {
  let db: TestDatabase;
  let dir: string;
  let catalog: SyntheticCatalog;

  beforeAll(async () => {
    db = await createTestDatabase();
    catalog = generateSyntheticCatalog({
      seed: 7,
      users: 200,
      movies: 300,
      ratingsPerUser: { min: 40, max: 90 },
    });
    dir = await writeSyntheticRelease(await mkdtemp(path.join(os.tmpdir(), 'cinegraph-bulk-')), catalog);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  });

  const count = async (table: string) =>
    Number((await db.dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
  const fingerprint = async () =>
    (
      await db.dataSource.query(`
        SELECT (SELECT count(*) FROM movies)::int AS movies, (SELECT count(*) FROM users)::int AS users,
               (SELECT count(*) FROM ratings)::int AS ratings, (SELECT count(*) FROM tags)::int AS tags,
               (SELECT sum(rating * 2 * (user_id + 7 * movie_id)) FROM ratings)::bigint AS weighted,
               (SELECT sum(extract(epoch FROM rated_at))::bigint FROM ratings) AS times,
               (SELECT string_agg(title || year || array_to_string(genres, '|'), ';' ORDER BY id) FROM movies) AS titles`)
    )[0];
  const expected = () => ({
    movies: catalog.movies.length,
    users: catalog.users.length,
    ratings: catalog.ratings.length,
    tags: catalog.tags.length,
    weighted: String(catalog.ratings.reduce((sum, r) => sum + r.rating * 2 * (r.userId + 7 * r.movieId), 0)),
    times: String(catalog.ratings.reduce((sum, r) => sum + r.timestamp, 0)),
    titles: catalog.movies.map((m) => `${m.title}${m.year}${m.genres.join('|')}`).join(';'),
  });

  it('loads exactly what was generated and leaves the foreign keys in force', async () => {
    expect(catalog.ratings.length).toBeGreaterThan(10_000);
    const summary = await importRelease(db.dataSource, dir);
    expect(summary).toMatchObject({
      bulkLoad: 'copy',
      ratings: catalog.ratings.length,
      tags: catalog.tags.length,
    });
    expect(await fingerprint()).toEqual(expected());

    const keys = await db.dataSource.query(
      `SELECT conname FROM pg_constraint WHERE conrelid IN ('ratings'::regclass, 'tags'::regclass) AND contype = 'f' ORDER BY 1`,
    );
    expect(keys.map((k: { conname: string }) => k.conname)).toEqual([
      'ratings_movie_id_fkey',
      'ratings_user_id_fkey',
      'tags_movie_id_fkey',
      'tags_user_id_fkey',
    ]);
    const indexes = await db.dataSource.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('ratings', 'tags') ORDER BY 1`,
    );
    expect(indexes.map((i: { indexname: string }) => i.indexname)).toEqual([
      'ratings_movie_idx',
      'ratings_pkey',
      'ratings_rated_at_idx',
      'tags_movie_idx',
      'tags_natural_key',
      'tags_pkey',
    ]);
    await expect(
      db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES (1, 999999, 3)`),
    ).rejects.toThrow(/foreign key/);
  });

  it('re-imports without changes', async () => {
    const summary = await importRelease(db.dataSource, dir);
    expect(summary.ratings).toBe(catalog.ratings.length);
    expect(await fingerprint()).toEqual(expected());
  });

  it('keeps the latest of a rating that appears twice, on the bulk path too', async () => {
    await db.dataSource.query('TRUNCATE movies, users, ratings, tags RESTART IDENTITY CASCADE');
    const twice = catalog.ratings[123];
    const copy = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-bulk-dup-'));
    try {
      await writeSyntheticRelease(copy, catalog);
      await appendFile(
        path.join(copy, 'ratings.csv'),
        `${twice.userId},${twice.movieId},${twice.rating === 5 ? '0.5' : '5.0'},${twice.timestamp + 60}\n`,
      );
      const summary = await importRelease(db.dataSource, copy);
      expect(summary.ratings).toBe(catalog.ratings.length);
      const [stored] = await db.dataSource.query(
        `SELECT rating, extract(epoch FROM rated_at)::bigint AS at FROM ratings WHERE user_id = $1 AND movie_id = $2`,
        [twice.userId, twice.movieId],
      );
      expect(stored).toEqual({ rating: twice.rating === 5 ? 0.5 : 5, at: String(twice.timestamp + 60) });
      expect(await count('ratings')).toBe(catalog.ratings.length);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('stores the same through batched INSERTs as through COPY', async () => {
    await db.dataSource.query('TRUNCATE movies, users, ratings, tags RESTART IDENTITY CASCADE');
    const summary = await importRelease(db.dataSource, dir, { bulkLoad: 'insert' });
    expect(summary.bulkLoad).toBe('insert');
    expect(await fingerprint()).toEqual(expected());
  });
});
