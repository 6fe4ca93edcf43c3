import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGenerateArgs } from '../../src/data/generate-cli';
import { importRelease } from '../../src/data/importer';
import { readRatingsFile, readRecords } from '../../src/data/movielens/formats';
import {
  generateRelease,
  GenerateOptionsError,
  RELEASE_SHAPES,
  scaledShape,
  type GenerateSummary,
} from '../../src/data/synthetic-release';
import { trainBiasedMf } from '../../training/biased-mf';
import { datasetFromRows, splitHoldout } from '../../training/dataset';
import { DEFAULT_BIASED_MF_OPTIONS } from '../../training/options';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

const FILES = ['movies.csv', 'ratings.csv', 'tags.csv', 'links.csv'];

async function digest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of FILES) hash.update(await fs.readFile(path.join(dir, file)));
  return hash.digest('hex');
}

describe('the synthetic MovieLens release generator', () => {
  let root: string;
  let dir: string;
  let summary: GenerateSummary;
  // ml-latest-small's shape at 1/5: 20,167 ratings, 122 users, 1,948 movies.
  const options = { shape: 'ml-latest-small' as const, scale: 0.2, seed: 7 };

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-generate-'));
    dir = path.join(root, 'a');
    summary = await generateRelease({ ...options, out: dir });
  });

  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('writes the scaled counts of the shape, every user with at least 20 ratings, sorted as the real files', async () => {
    const shape = RELEASE_SHAPES['ml-latest-small'];
    expect(summary.ratings).toBe(Math.round(shape.ratings * 0.2));
    expect(summary.users).toBe(Math.round(shape.users * 0.2));
    expect(summary.movies).toBe(Math.round(shape.movies * 0.2));
    const ratings = await readRatingsFile(path.join(dir, 'ratings.csv'));
    expect(ratings).toHaveLength(summary.ratings);
    const perUser = new Map<number, number>();
    let sorted = true;
    let inRange = true;
    for (let n = 0; n < ratings.length; n++) {
      const r = ratings[n];
      perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
      const p = ratings[n - 1];
      if (p && !(p.userId < r.userId || (p.userId === r.userId && p.movieId < r.movieId))) sorted = false;
      if (r.timestamp < shape.firstTimestamp || r.timestamp > shape.lastTimestamp) inRange = false;
    }
    expect(sorted).toBe(true);
    expect(inRange).toBe(true);
    expect(perUser.size).toBe(summary.users);
    expect(Math.min(...perUser.values())).toBeGreaterThanOrEqual(20);
    // Heavy-tailed: the busiest user rates several times the median.
    const counts = [...perUser.values()].sort((a, b) => a - b);
    expect(counts[counts.length - 1]).toBeGreaterThan(3 * counts[Math.floor(counts.length / 2)]);

    const mean = ratings.reduce((s, r) => s + r.rating, 0) / ratings.length;
    expect(mean).toBeGreaterThan(3.3);
    expect(mean).toBeLessThan(3.75);
    expect(ratings.some((r) => r.rating % 1 === 0.5)).toBe(true);
    expect(ratings.every((r) => r.rating >= 0.5 && r.rating <= 5 && (r.rating * 2) % 1 === 0)).toBe(true);

    const movies = [];
    for await (const movie of readRecords(path.join(dir, 'movies.csv'), 'movies', 'ml-latest'))
      movies.push(movie);
    expect(movies).toHaveLength(summary.movies);
    expect(movies.every((m) => m.year !== null)).toBe(true);
    const rated = new Set(ratings.map((r) => r.movieId));
    expect(rated.size).toBe(summary.ratedMovies);
    expect(movies.length - rated.size).toBeGreaterThan(0);
    // Popular movies are far more popular than the median one.
    const perMovie = new Map<number, number>();
    for (const r of ratings) perMovie.set(r.movieId, (perMovie.get(r.movieId) ?? 0) + 1);
    const movieCounts = [...perMovie.values()].sort((a, b) => a - b);
    expect(movieCounts[movieCounts.length - 1]).toBeGreaterThan(
      4 * movieCounts[Math.floor(movieCounts.length / 2)],
    );

    const header = async (file: string) =>
      (await fs.readFile(path.join(dir, file), 'utf8')).split('\n', 1)[0];
    expect(await header('movies.csv')).toBe('movieId,title,genres');
    expect(await header('ratings.csv')).toBe('userId,movieId,rating,timestamp');
    expect(await header('tags.csv')).toBe('userId,movieId,tag,timestamp');
    expect(await header('links.csv')).toBe('movieId,imdbId,tmdbId');
  });

  it('keeps the real counts at scale 1 and scales them linearly', () => {
    expect(scaledShape(RELEASE_SHAPES['ml-25m'], 1)).toMatchObject({
      ratings: 25_000_095,
      users: 162_541,
      movies: 62_423,
    });
    expect(scaledShape(RELEASE_SHAPES['ml-32m'], 1)).toMatchObject({
      ratings: 32_000_204,
      users: 200_948,
      movies: 87_585,
    });
    expect(scaledShape(RELEASE_SHAPES['ml-25m'], 0.04)).toMatchObject({
      ratings: 1_000_004,
      users: 6_502,
      movies: 2_497,
    });
  });

  it('is deterministic per seed', async () => {
    const again = path.join(root, 'again');
    const other = path.join(root, 'other');
    await generateRelease({ ...options, out: again });
    await generateRelease({ ...options, seed: 8, out: other });
    expect(await digest(again)).toBe(await digest(dir));
    expect(await digest(other)).not.toBe(await digest(dir));
  });

  it('plants a signal a model learns: biased MF beats the global mean on held-out ratings', async () => {
    expect(summary.plantedCorrelation).toBeGreaterThan(0.7);
    const dataset = datasetFromRows(await readRatingsFile(path.join(dir, 'ratings.csv')));
    const { train, holdout } = splitHoldout(dataset, 0.1, 3);
    const result = await trainBiasedMf(train, {
      ...DEFAULT_BIASED_MF_OPTIONS,
      factors: 8,
      epochs: 30,
      recencyHalfLifeDays: 0,
      initStd: 0.1,
      lrFactor: 0.01,
      decay: 0.97,
      kernel: 'js',
    });
    let mean = 0;
    for (const r of train.ratings) mean += r / train.size;
    let meanError = 0;
    let modelError = 0;
    const { model } = result;
    for (let n = 0; n < holdout.size; n++) {
      const u = holdout.users[n];
      const i = holdout.items[n];
      let prediction = model.mu + model.userBias[u] + model.itemBias[i];
      for (let f = 0; f < model.k; f++)
        prediction += model.userFactors[u * model.k + f] * model.itemFactors[i * model.k + f];
      meanError += (holdout.ratings[n] - mean) ** 2;
      modelError += (holdout.ratings[n] - Math.min(5, Math.max(0.5, prediction))) ** 2;
    }
    expect(Math.sqrt(modelError / holdout.size)).toBeLessThan(0.9 * Math.sqrt(meanError / holdout.size));
  });

  it('rejects bad options with a coded error, and the CLI parses its flags', async () => {
    await expect(generateRelease({ ...options, scale: 0, out: path.join(root, 'x') })).rejects.toThrow(
      GenerateOptionsError,
    );
    expect(parseGenerateArgs(['--help'])).toBe('help');
    expect(
      parseGenerateArgs(['--shape', 'ml-32m', '--scale', '0.01', '--seed', '3', '--out', 'o']),
    ).toMatchObject({
      shape: 'ml-32m',
      scale: 0.01,
      seed: 3,
    });
    expect(() => parseGenerateArgs(['--shape', 'ml-99m', '--out', 'o'])).toThrow(/--shape/);
    expect(() => parseGenerateArgs(['--scale', '0.1'])).toThrow(/--out/);
  });

  describe('imported by the importer unchanged', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      await db.drop();
    });

    it('imports every movie, user, rating and tag', async () => {
      const imported = await importRelease(db.dataSource, dir);
      expect(imported).toMatchObject({
        format: 'ml-latest',
        movies: summary.movies,
        users: summary.users,
        ratings: summary.ratings,
      });
      // Identical tag lines collapse on import; the generator may write a few.
      expect(imported.tags).toBeGreaterThan(0);
      expect(imported.tags).toBeLessThanOrEqual(summary.tags);
      const [{ linked }] = await db.dataSource.query(`SELECT count(imdb_id)::int AS linked FROM movies`);
      expect(linked).toBe(summary.movies);
    });
  });
});
