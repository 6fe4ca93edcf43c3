import { importRelease } from '../../src/data/importer';
import { openDatabase } from '../../src/db/datasource';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded';
import { csv, ReleaseDirs } from './release-files';
import type { DataSource } from 'typeorm';

/** `npm start` without DATABASE_URL imports into PGlite, whose socket server cannot take COPY FROM STDIN. */
describe('importRelease on the embedded PGlite database', () => {
  let embedded: EmbeddedDatabase;
  let dataSource: DataSource;
  const releases = new ReleaseDirs();

  beforeAll(async () => {
    embedded = await startEmbeddedDatabase({ dataDir: null, port: 0, poolSize: 2 });
    dataSource = await openDatabase({ url: embedded.url, poolSize: 2 });
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await embedded?.stop();
    await releases.cleanup();
  });

  it('falls back to batched INSERTs and imports atomically', async () => {
    const dir = await releases.write({
      'movies.csv': csv(
        'movieId,title,genres',
        '1,"American President, The (1995)",Comedy|Drama',
        '2,Heat (1995),Action',
      ),
      'ratings.csv': csv('userId,movieId,rating,timestamp', '1,1,4.0,964982703', '2,2,3.5,964982704'),
      'tags.csv': csv('userId,movieId,tag,timestamp', '3,2,"slow, burn",1445714994'),
    });
    const summary = await importRelease(dataSource, dir);
    expect(summary).toMatchObject({ bulkLoad: 'insert', movies: 2, users: 3, ratings: 2, tags: 1 });
    const [movie] = await dataSource.query(`SELECT title, year, genres FROM movies WHERE id = 1`);
    expect(movie).toEqual({ title: 'American President, The', year: 1995, genres: ['Comedy', 'Drama'] });

    const broken = await releases.write({
      'movies.csv': csv('movieId,title,genres', '3,Ronin (1998),Action'),
      'ratings.csv': csv('userId,movieId,rating,timestamp', '5,3,4.0,964982703', '5,3,six,964982703'),
    });
    await expect(importRelease(dataSource, broken)).rejects.toThrow(/ratings\.csv:3: rating is not a number/);
    const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM movies`);
    expect(n).toBe(2);
  });
});
