import iconv from 'iconv-lite';
import {
  AfterImportHookError,
  ImportSetupError,
  importRelease,
  MalformedReleaseError,
  type ImportProgress,
} from '../../src/data/importer';
import { UnknownReleaseError } from '../../src/data/movielens/formats';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { csv, ReleaseDirs } from './release-files';

const MOVIES = csv(
  'movieId,title,genres',
  '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy',
  '11,"American President, The (1995)",Comedy|Drama|Romance',
  '12,"""Great"" Performances: Cats (1998)",Musical',
  '13,AC\\DC: Let There Be Rock (1980),Documentary',
  '14,Babylon 5,Sci-Fi',
  '15,Hyena Road,(no genres listed)',
);
const RATINGS = csv(
  'userId,movieId,rating,timestamp',
  '1,1,4.0,964982703',
  '1,11,3.5,964981247',
  '2,1,5.0,964982224',
  '2,12,0.5,964983815',
  '3,13,2.5,964982931',
);
const TAGS = csv(
  'userId,movieId,tag,timestamp',
  '2,11,"politics, romance",1445714994',
  '4,1,pixar,1445714996',
  '4,15,"tab\there",1445714997',
);
const LINKS = csv(
  'movieId,imdbId,tmdbId',
  '1,0114709,862',
  '11,0112346,9087',
  '12,0173714,',
  '13,0081657,29751',
  '14,0105946,',
  '15,3294170,337166',
);

describe('importRelease on the local Postgres', () => {
  let db: TestDatabase;
  const releases = new ReleaseDirs();

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await releases.cleanup();
    await db.drop();
  });
  beforeEach(async () => {
    await db.dataSource.query('TRUNCATE movies, users, ratings, tags RESTART IDENTITY CASCADE');
  });

  const count = async (table: string) =>
    Number((await db.dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
  const counts = async () => ({
    movies: await count('movies'),
    users: await count('users'),
    ratings: await count('ratings'),
    tags: await count('tags'),
  });
  const movie = async (id: number) =>
    (
      await db.dataSource.query(
        `SELECT title, year, genres, imdb_id AS "imdbId", tmdb_id AS "tmdbId", overview FROM movies WHERE id = $1`,
        [id],
      )
    )[0];

  it('imports an ml-latest CSV release: quoting, years, empty genres, links, users from ratings and tags', async () => {
    const dir = await releases.write({
      'movies.csv': MOVIES,
      'ratings.csv': RATINGS,
      'tags.csv': TAGS,
      'links.csv': LINKS,
    });
    const summary = await importRelease(db.dataSource, dir);

    expect(summary).toMatchObject({
      format: 'ml-latest',
      movies: 6,
      users: 4,
      ratings: 5,
      tags: 3,
      overviews: 0,
    });
    expect(await counts()).toEqual({ movies: 6, users: 4, ratings: 5, tags: 3 });
    expect(await movie(11)).toEqual({
      title: 'American President, The',
      year: 1995,
      genres: ['Comedy', 'Drama', 'Romance'],
      imdbId: 'tt0112346',
      tmdbId: 9087,
      overview: null,
    });
    expect(await movie(12)).toMatchObject({ title: '"Great" Performances: Cats', year: 1998, tmdbId: null });
    expect(await movie(13)).toMatchObject({ title: 'AC\\DC: Let There Be Rock', year: 1980 });
    expect(await movie(14)).toMatchObject({ title: 'Babylon 5', year: null });
    expect(await movie(15)).toMatchObject({ title: 'Hyena Road', genres: [] });

    const tags = await db.dataSource.query(`SELECT user_id, tag FROM tags ORDER BY tagged_at`);
    expect(tags).toEqual([
      { user_id: 2, tag: 'politics, romance' },
      { user_id: 4, tag: 'pixar' },
      { user_id: 4, tag: 'tab\there' },
    ]);
    const [rating] = await db.dataSource.query(
      `SELECT rating, extract(epoch FROM rated_at)::bigint AS at FROM ratings WHERE user_id = 2 AND movie_id = 12`,
    );
    expect(rating).toEqual({ rating: 0.5, at: '964983815' });
    // User 4 only tagged; imported users date from their first activity.
    const [user4] = await db.dataSource.query(
      `SELECT extract(epoch FROM created_at)::bigint AS at FROM users WHERE id = 4`,
    );
    expect(user4.at).toBe('1445714996');
  });

  it('moves the users id sequence past the imported ids', async () => {
    const dir = await releases.write({ 'movies.csv': MOVIES, 'ratings.csv': RATINGS, 'tags.csv': TAGS });
    await importRelease(db.dataSource, dir);
    const [created] = await db.dataSource.query(`INSERT INTO users DEFAULT VALUES RETURNING id`);
    expect(created.id).toBe(5);
  });

  it('decodes Latin-1 titles of ml-100k (u.item, u.data) and stores them as UTF-8', async () => {
    const flags = (...set: number[]) =>
      Array.from({ length: 19 }, (_, i) => (set.includes(i) ? '1' : '0')).join('|');
    const item = [
      `1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|${flags(3, 4, 5)}`,
      `2|Misérables, Les (1995)|01-Jan-1995||http://us.imdb.com/x|${flags(8, 12)}`,
      `3|unknown||||${flags(0)}`,
    ].join('\n');
    const dir = await releases.write({
      'u.item': iconv.encode(item + '\n', 'latin1'),
      'u.data': '196\t1\t3\t881250949\n186\t2\t5\t891717742\n22\t2\t1\t878887116\n',
    });
    const summary = await importRelease(db.dataSource, dir);

    expect(summary).toMatchObject({ format: 'ml-100k', movies: 3, users: 3, ratings: 3, tags: 0 });
    expect(await movie(2)).toMatchObject({
      title: 'Misérables, Les',
      year: 1995,
      genres: ['Drama', 'Musical'],
    });
    expect(await movie(1)).toMatchObject({ genres: ['Animation', "Children's", 'Comedy'] });
    expect(await movie(3)).toMatchObject({ title: 'unknown', year: null, genres: [] });
    const [bytes] = await db.dataSource.query(`SELECT octet_length(title) AS n FROM movies WHERE id = 2`);
    expect(bytes.n).toBe(Buffer.byteLength('Misérables, Les', 'utf8'));
  });

  it('decodes Latin-1 titles of ml-1m (movies.dat, ratings.dat with ::)', async () => {
    const dir = await releases.write({
      'movies.dat': iconv.encode(
        "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Misérables, Les (1995)::Drama|Musical\n",
        'latin1',
      ),
      'ratings.dat': '1::1::5::978300760\n1::2::3::978302109\n6040::2::4::956703932\n',
    });
    const summary = await importRelease(db.dataSource, dir);

    expect(summary).toMatchObject({ format: 'ml-1m', movies: 2, users: 2, ratings: 3 });
    expect(await movie(2)).toMatchObject({
      title: 'Misérables, Les',
      year: 1995,
      genres: ['Drama', 'Musical'],
    });
  });

  it('reports malformed lines with file:line, imports nothing, and leaves existing data untouched', async () => {
    const good = await releases.write({ 'movies.csv': MOVIES, 'ratings.csv': RATINGS });
    await importRelease(db.dataSource, good);
    const before = await counts();

    const bad = await releases.write({
      'movies.csv':
        MOVIES.replace('Toy Story (1995)', 'Toy Story Renamed (1995)') + '16,Heat (1995),Action\n',
      'ratings.csv': csv(
        'userId,movieId,rating,timestamp',
        '1,1,4.0,964982703',
        '9,16,4.25,964982703',
        '9,16,5.0',
        '10,1,5.0,964982703',
      ),
      'tags.csv': csv('userId,movieId,tag,timestamp', '9,16,,1445714994'),
    });
    const failure = await importRelease(db.dataSource, bad).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(MalformedReleaseError);
    const error = failure as MalformedReleaseError;
    expect(error.malformedLines).toBe(3);
    expect(error.errors.map((e) => `${e.file}:${e.line}`)).toEqual([
      'ratings.csv:3',
      'ratings.csv:4',
      'tags.csv:2',
    ]);
    expect(error.message).toMatch(
      /^3 malformed lines in .*; first: ratings\.csv:3: rating must be 0\.5\.\.5\.0 in half steps, got 4\.25; nothing was imported/,
    );
    expect(error.message).toContain('ratings.csv:4: expected 4 fields for a rating, found 3');
    expect(error.message).toContain('tags.csv:2: empty tag');

    expect(await counts()).toEqual(before);
    expect(await movie(1)).toMatchObject({ title: 'Toy Story' });
    expect(await movie(16)).toBeUndefined();
  });

  it('reports ratings of a movie missing from the movies file with their line', async () => {
    const dir = await releases.write({
      'movies.csv': MOVIES,
      'ratings.csv': csv('userId,movieId,rating,timestamp', '1,1,4.0,964982703', '1,99,3.0,964982703'),
    });
    await expect(importRelease(db.dataSource, dir)).rejects.toThrow(
      /ratings\.csv:3: movie 99 is not in movies\.csv/,
    );
    expect(await count('movies')).toBe(0);
  });

  it('describes only the first maxReportedErrors problems but counts every malformed line', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `1,1,${i % 2 ? 'x' : '9'},964982703`);
    const dir = await releases.write({
      'movies.csv': MOVIES,
      'ratings.csv': csv('userId,movieId,rating,timestamp', ...lines),
    });
    const error = (await importRelease(db.dataSource, dir, { maxReportedErrors: 5 }).catch(
      (e: unknown) => e,
    )) as MalformedReleaseError;
    expect(error.malformedLines).toBe(30);
    expect(error.errors).toHaveLength(5);
    expect(error.message).toContain('… and 25 more');
  });

  it('rejects a CSV without the expected header, duplicate movie ids and years the schema refuses', async () => {
    const dir = await releases.write({
      'movies.csv': csv(
        'movieId,title,genres',
        '1,Heat (1995),Action',
        '1,Heat again (1995),Action',
        '2,Roundhay Garden Scene (1850),Documentary',
      ),
      'ratings.csv': csv('userId,movieId,stars,timestamp', '1,1,4.0,964982703'),
    });
    const error = (await importRelease(db.dataSource, dir).catch((e: unknown) => e)) as MalformedReleaseError;
    expect(error.errors.map((e) => e.message)).toEqual([
      'movies.csv:3: duplicate movieId 1 (first on line 2)',
      'movies.csv:4: year 1850 is outside 1870..2100',
      'ratings.csv:1: expected header "userId,movieId,rating,timestamp", found "userId,movieId,stars,timestamp"',
    ]);
  });

  it('is idempotent: a re-import reports and leaves the same counts, and applies changed values', async () => {
    const dir = await releases.write({
      'movies.csv': MOVIES,
      'ratings.csv': RATINGS,
      'tags.csv': TAGS,
      'links.csv': LINKS,
    });
    const first = await importRelease(db.dataSource, dir);
    const afterFirst = await counts();
    const second = await importRelease(db.dataSource, dir);
    expect(await counts()).toEqual(afterFirst);
    expect({ ...second, seconds: 0, ratingsPerSecond: 0, files: [] }).toEqual({
      ...first,
      seconds: 0,
      ratingsPerSecond: 0,
      files: [],
    });

    const changed = await releases.write({
      'movies.csv': MOVIES.replace('Toy Story (1995)', 'Toy Story (1996)'),
      'ratings.csv': RATINGS.replace('1,1,4.0,964982703', '1,1,2.0,964999999'),
    });
    await importRelease(db.dataSource, changed);
    expect(await counts()).toEqual(afterFirst);
    expect(await movie(1)).toMatchObject({ title: 'Toy Story', year: 1996, tmdbId: 862 });
    const [rating] = await db.dataSource.query(
      `SELECT rating FROM ratings WHERE user_id = 1 AND movie_id = 1`,
    );
    expect(rating.rating).toBe(2);
  });

  it('keeps the latest of duplicate ratings in one file', async () => {
    const dir = await releases.write({
      'movies.csv': MOVIES,
      'ratings.csv': csv(
        'userId,movieId,rating,timestamp',
        '1,1,4.0,964982703',
        '1,1,1.5,964999999',
        '1,11,3.0,964982000',
      ),
    });
    const summary = await importRelease(db.dataSource, dir);
    expect(summary.ratings).toBe(2);
    const [rating] = await db.dataSource.query(
      `SELECT rating FROM ratings WHERE user_id = 1 AND movie_id = 1`,
    );
    expect(rating.rating).toBe(1.5);
  });

  it('rolls everything back when the database refuses a row during the merge', async () => {
    await db.dataSource.query(`
      CREATE FUNCTION refuse_movie_13() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.movie_id = 13 THEN RAISE EXCEPTION 'ratings of movie 13 are refused'; END IF;
        RETURN NEW;
      END $$`);
    await db.dataSource.query(
      `CREATE TRIGGER refuse_movie_13 BEFORE INSERT ON ratings FOR EACH ROW EXECUTE FUNCTION refuse_movie_13()`,
    );
    const dir = await releases.write({ 'movies.csv': MOVIES, 'ratings.csv': RATINGS, 'tags.csv': TAGS });
    try {
      await expect(importRelease(db.dataSource, dir)).rejects.toThrow('ratings of movie 13 are refused');
      expect(await counts()).toEqual({ movies: 0, users: 0, ratings: 0, tags: 0 });
    } finally {
      await db.dataSource.query(`DROP TRIGGER refuse_movie_13 ON ratings`);
      await db.dataSource.query(`DROP FUNCTION refuse_movie_13()`);
    }
    expect((await importRelease(db.dataSource, dir)).ratings).toBe(5);
  });

  it('names the known formats for an unknown layout', async () => {
    const dir = await releases.write({ 'notes.txt': 'hello' });
    const error = await importRelease(db.dataSource, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownReleaseError);
    expect((error as Error).message).toContain('found: notes.txt');
    expect((error as Error).message).toMatch(
      /Known formats: ml-latest-small .*ml-100k \(u\.item \+ u\.data\), ml-1m/,
    );
  });

  it('joins TMDB overviews through links.csv, multi-line quoted fields included', async () => {
    const tmdb = csv(
      'budget,genres,id,overview,title',
      '30000000,"[{""id"": 16, ""name"": ""Animation""}]",862,"Led by Woody, Andy\'s toys live happily in his room.",Toy Story',
      '0,[],9087,"A widowed U.S. president and a lobbyist fall in love.',
      'It\'s all above-board, but ""politics is perception"".",The American President',
      '0,[],424242,An unrelated film.,Elsewhere',
      '0,[],337166,,Hyena Road',
    );
    const dir = await releases.write({
      'movies.csv': MOVIES,
      'ratings.csv': RATINGS,
      'links.csv': LINKS,
      'tmdb.csv': tmdb,
    });
    const summary = await importRelease(db.dataSource, dir, { overviewsFile: `${dir}/tmdb.csv` });

    expect(summary.overviews).toBe(2);
    expect((await movie(1)).overview).toBe("Led by Woody, Andy's toys live happily in his room.");
    expect((await movie(11)).overview).toBe(
      'A widowed U.S. president and a lobbyist fall in love.\nIt\'s all above-board, but "politics is perception".',
    );
    expect((await movie(15)).overview).toBeNull();
    expect((await importRelease(db.dataSource, dir, { overviewsFile: `${dir}/tmdb.csv` })).overviews).toBe(2);
  });

  it('refuses overviews for a release without links.csv', async () => {
    const dir = await releases.write({
      'movies.csv': MOVIES,
      'ratings.csv': RATINGS,
      'tmdb.csv': 'id,overview\n',
    });
    await expect(importRelease(db.dataSource, dir, { overviewsFile: `${dir}/tmdb.csv` })).rejects.toThrow(
      ImportSetupError,
    );
  });

  it('reports reading and merging progress per file', async () => {
    const dir = await releases.write({ 'movies.csv': MOVIES, 'ratings.csv': RATINGS, 'tags.csv': TAGS });
    const events: ImportProgress[] = [];
    await importRelease(db.dataSource, dir, { onProgress: (p) => events.push(p) });
    const done = events.filter((e) => e.phase === 'done').map((e) => [e.file, e.rows]);
    expect(done).toEqual([
      ['movies.csv', 6],
      ['ratings.csv', 5],
      ['tags.csv', 3],
    ]);
    const reading = events.find((e) => e.file === 'ratings.csv' && e.phase === 'reading');
    expect(reading?.bytesRead).toBe(reading?.totalBytes);
  });

  it('logs throttled progress lines per file: rows, rows/s, share read, ETA', async () => {
    const dir = await releases.write({ 'movies.csv': MOVIES, 'ratings.csv': RATINGS, 'tags.csv': TAGS });
    const lines: string[] = [];
    let now = 0;
    await importRelease(db.dataSource, dir, {
      // Each reading of the clock is 10 s later, and a line may come every 5 s: every event gets one.
      progressLog: {
        logger: { info: (line) => lines.push(line) },
        intervalMs: 5_000,
        now: () => (now += 10_000),
      },
    });
    const ratings = lines.filter((line) => line.startsWith('importing ratings.csv: '));
    expect(ratings.length).toBeGreaterThan(0);
    expect(ratings[0]).toMatch(
      /^importing ratings\.csv: 5 rows \(100%\), 0\.5 rows\/s, 10s elapsed, reading$/,
    );
    expect(lines.some((line) => line.startsWith('importing movies.csv: 6 rows'))).toBe(true);
  });

  it('runs afterImport hooks after the commit; a failing hook leaves the import in place', async () => {
    const dir = await releases.write({ 'movies.csv': MOVIES, 'ratings.csv': RATINGS });
    const seen: number[] = [];
    await importRelease(db.dataSource, dir, {
      afterImport: [
        async (manager, summary) => {
          const [row] = await manager.query(`SELECT count(*) AS n FROM ratings`);
          seen.push(Number(row.n), summary.ratings);
        },
      ],
    });
    expect(seen).toEqual([5, 5]);

    await db.dataSource.query('TRUNCATE movies, users, ratings, tags RESTART IDENTITY CASCADE');
    const failure = await importRelease(db.dataSource, dir, {
      afterImport: [
        async () => {
          throw new Error('aggregates unavailable');
        },
      ],
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AfterImportHookError);
    expect((failure as Error).message).toContain('aggregates unavailable');
    expect(await count('ratings')).toBe(5);
  });
});
