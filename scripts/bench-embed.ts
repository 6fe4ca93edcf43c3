/**
 * Embedding throughput on movie texts shaped like the catalog, or on a sample of the real one.
 *
 *   node -r @swc-node/register scripts/bench-embed.ts [--count 500] [--batch-size 32] [--call-size 64]
 *     [--workers 1,2] [--movielens DIR --tmdb tmdb_5000_movies.csv]
 *     [--transformers-model Xenova/all-MiniLM-L6-v2] [--local-model-path DIR] [--cache-dir DIR] [--fp32]
 *
 * Synthetic texts (the default) follow ml-latest-small: two in three are just "Title (Year). Genres: A, B.",
 * one in three adds a 300-600 char overview (TMDB covers ~36% of the movies). With --movielens and --tmdb,
 * `--count` movies are sampled (seeded) from ml-latest-small instead, with their top tags and TMDB
 * overview, exactly as the content index builds them; nothing is written anywhere.
 *
 * Texts are embedded in calls of --call-size (the content indexer's batch), after one warm-up call.
 * use-lite runs in-process, then as a worker pool for each --workers count. Each line gives wall-clock
 * throughput, CPU seconds of the whole process (all threads) and the time the full 9,742-movie catalog
 * would take at that rate; the 1-minute load average is printed because other processes skew wall time.
 * The transformers run never downloads: it is skipped (with the reason) unless the model is already on disk.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import {
  createTransformersEmbedder,
  createUseLiteEmbedder,
  createUseLitePool,
  DEFAULT_TRANSFORMERS_MODEL,
  type Embedder,
} from '../src/engines/content/embedders';
import { describeError } from '../src/engines/content/embedders/errors';
import { buildMovieText, type TagFrequency } from '../src/engines/content/movie-text';
import { answerHelp } from '../src/cli-help';

answerHelp(`Usage: node -r @swc-node/register scripts/bench-embed.ts [--count 500] [--batch-size 32] [--call-size 64]
    [--workers 1,2] [--movielens DIR --tmdb tmdb_5000_movies.csv]
    [--transformers-model Xenova/all-MiniLM-L6-v2] [--local-model-path DIR] [--cache-dir DIR] [--fp32]

Embedding throughput (texts/s, CPU seconds, time for the full catalog) of use-lite in-process and as a
worker pool, and of transformers when its model is already on disk, on synthetic catalog-shaped texts or a
seeded sample of ml-latest-small with TMDB overviews.

  -h, --help   print this text`);

const CATALOG_SIZE = 9_742;

const GENRES = [
  'Action',
  'Adventure',
  'Animation',
  'Comedy',
  'Crime',
  'Drama',
  'Horror',
  'Romance',
  'Sci-Fi',
];
const WORDS = [
  'space',
  'heist',
  'family',
  'ghost',
  'detective',
  'robot',
  'love',
  'war',
  'city',
  'island',
  'revenge',
  'friendship',
  'time travel',
  'dystopia',
  'music',
  'school',
  'desert',
  'ocean',
  'kingdom',
  'secret',
];

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function syntheticMovieTexts(count: number): string[] {
  const random = seededRandom(7);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const overview = (minChars: number) => {
    const sentences: string[] = [];
    while (sentences.join(' ').length < minChars) {
      sentences.push(
        `A ${pick(WORDS)} story about ${pick(WORDS)} and ${pick(WORDS)} in a ${pick(WORDS)} world.`,
      );
    }
    return sentences.join(' ');
  };
  return Array.from({ length: count }, (_, index) =>
    buildMovieText({
      title: `The ${pick(WORDS)} of ${pick(WORDS)} ${index}`,
      year: 1950 + Math.floor(random() * 75),
      genres: [pick(GENRES), pick(GENRES)],
      overview: index % 3 === 2 ? overview(300 + Math.floor(random() * 300)) : null,
    }),
  );
}

async function readCsv(file: string): Promise<Record<string, string>[]> {
  return parse(await readFile(file), { columns: true, bom: true, skip_empty_lines: true });
}

/** `count` movies drawn without replacement (seeded) from ml-latest-small, built as the content index does. */
async function sampledCatalogTexts(movielensDir: string, tmdbFile: string, count: number): Promise<string[]> {
  const [movies, links, tags, tmdb] = await Promise.all([
    readCsv(path.join(movielensDir, 'movies.csv')),
    readCsv(path.join(movielensDir, 'links.csv')),
    readCsv(path.join(movielensDir, 'tags.csv')),
    readCsv(tmdbFile),
  ]);
  const tmdbIdByMovie = new Map(links.map((link) => [link.movieId, link.tmdbId]));
  const overviewByTmdbId = new Map(tmdb.map((movie) => [movie.id, movie.overview]));
  const tagsByMovie = new Map<string, TagFrequency[]>();
  for (const { movieId, tag } of tags) {
    const movieTags = tagsByMovie.get(movieId) ?? [];
    const existing = movieTags.find((candidate) => candidate.tag === tag);
    if (existing) existing.count += 1;
    else movieTags.push({ tag, count: 1 });
    tagsByMovie.set(movieId, movieTags);
  }
  const random = seededRandom(11);
  const shuffled = [...movies];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return shuffled.slice(0, count).map((movie) =>
    buildMovieText({
      title: movie.title,
      genres: movie.genres.split('|'),
      tags: tagsByMovie.get(movie.movieId),
      overview: overviewByTmdbId.get(tmdbIdByMovie.get(movie.movieId) ?? ''),
    }),
  );
}

async function timed<T>(task: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await task();
  return { result, ms: performance.now() - start };
}

async function bench(label: string, embedder: Embedder, loadMs: number, texts: string[], callSize: number) {
  try {
    // Warm-up, so one-off costs (wasm compilation, session initialisation) do not count as throughput.
    await embedder.embed(texts.slice(0, callSize));
    const cpuBefore = process.cpuUsage();
    const { ms } = await timed(async () => {
      for (let offset = 0; offset < texts.length; offset += callSize) {
        await embedder.embed(texts.slice(offset, offset + callSize));
      }
    });
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = ms / 1000;
    const rate = texts.length / seconds;
    console.log(
      `${label.padEnd(16)} ${embedder.modelId} (${embedder.dimension}-d): load ${loadMs.toFixed(0)} ms, ` +
        `${texts.length} texts in ${seconds.toFixed(2)} s = ${rate.toFixed(1)} texts/s, ` +
        `CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, ` +
        `full catalog ~${(CATALOG_SIZE / rate / 60).toFixed(1)} min (call size ${callSize})`,
    );
  } finally {
    await embedder.dispose?.();
  }
}

function positiveIntegers(flag: string, value: string): number[] {
  const numbers = value.split(',').map(Number);
  if (numbers.some((number) => !Number.isInteger(number) || number < 1))
    throw new Error(`--${flag} must be a positive integer or a comma-separated list of them`);
  return numbers;
}

async function main() {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '500' },
      'batch-size': { type: 'string', default: '32' },
      'call-size': { type: 'string', default: '64' },
      workers: { type: 'string', default: '' },
      movielens: { type: 'string' },
      tmdb: { type: 'string' },
      'transformers-model': { type: 'string', default: DEFAULT_TRANSFORMERS_MODEL },
      'local-model-path': { type: 'string' },
      'cache-dir': { type: 'string' },
      fp32: { type: 'boolean', default: false },
    },
  });
  const [count] = positiveIntegers('count', values.count);
  const [batchSize] = positiveIntegers('batch-size', values['batch-size']);
  const [callSize] = positiveIntegers('call-size', values['call-size']);
  const workerCounts = values.workers === '' ? [] : positiveIntegers('workers', values.workers);
  if ((values.movielens === undefined) !== (values.tmdb === undefined))
    throw new Error('--movielens and --tmdb go together');

  const texts =
    values.movielens !== undefined && values.tmdb !== undefined
      ? await sampledCatalogTexts(values.movielens, values.tmdb, count)
      : syntheticMovieTexts(count);
  const meanChars = texts.reduce((sum, text) => sum + text.length, 0) / texts.length;
  const withOverview = texts.filter((text) => text.length > 200).length;
  console.log(
    `${texts.length} ${values.movielens === undefined ? 'synthetic' : 'sampled ml-latest-small'} movie texts, ` +
      `mean ${meanChars.toFixed(0)} chars, ${withOverview} over 200 chars; ` +
      `load average ${loadavg()[0].toFixed(2)}`,
  );

  const useLite = await timed(() => createUseLiteEmbedder({ maxBatchSize: batchSize }));
  await bench('use-lite', useLite.result, useLite.ms, texts, callSize);
  for (const workers of workerCounts) {
    const pool = await timed(() => createUseLitePool({ workers, maxBatchSize: batchSize }));
    await bench(`use-lite x${workers} pool`, pool.result, pool.ms, texts, callSize);
  }

  let transformers: { result: Embedder; ms: number };
  try {
    transformers = await timed(() =>
      createTransformersEmbedder({
        modelId: values['transformers-model'],
        localModelPath: values['local-model-path'],
        cacheDir: values['cache-dir'],
        allowRemoteModels: false,
        quantized: !values.fp32,
        maxBatchSize: batchSize,
      }),
    );
  } catch (error) {
    console.log(`transformers skipped: ${describeError(error)}`);
    return;
  }
  await bench('transformers', transformers.result, transformers.ms, texts, callSize);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
