/**
 * Eyeball check of the content engine on real data: imports ml-latest-small (with TMDB overviews when
 * given) into a fresh schema, embeds every movie, prints the embedding throughput, the 5 most similar
 * movies for ten well-known titles and the top 5 results of a few free-text searches.
 *
 *   node -r @swc-node/register scripts/content-quality.ts [--movielens DIR] [--tmdb tmdb_5000_movies.csv]
 *     [--provider use-lite|transformers|auto] [--workers N|auto] [--batch-size 64] [--keep-schema]
 *
 * DIR defaults to MOVIELENS_DIR; --workers (use-lite threads) to EMBEDDING_WORKERS. Uses DATABASE_URL, or an
 * in-memory PGlite when it is unset.
 * --keep-schema leaves the imported, embedded schema in place (its name is printed) for
 * `scripts/bench-content.ts --schema <name>`.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config';
import { importRelease } from '../src/data/importer';
import { openDatabase } from '../src/db/datasource';
import { EmbeddedDatabase, startEmbeddedDatabase } from '../src/db/embedded';
import { ContentEngine } from '../src/engines/content/content-engine';
import { embedderFor } from '../src/app';
import { type Embedder, type EmbedderMode } from '../src/engines/content/embedders';
import { ContentIndexer } from '../src/engines/content/indexer';
import { ScoredMovie } from '../src/engines/engine';
import { createLogger } from '../src/logger';
import { answerHelp } from '../src/cli-help';

answerHelp(`Usage: node -r @swc-node/register scripts/content-quality.ts [--movielens DIR] [--tmdb tmdb_5000_movies.csv]
    [--provider use-lite|transformers|auto] [--workers N|auto] [--batch-size 64] [--keep-schema]

Eyeball check of the content engine on real data: imports ml-latest-small into a fresh schema (DATABASE_URL
or an in-memory PGlite), embeds every movie, prints throughput, the most similar movies for ten well-known
titles and the top results of a few searches. --keep-schema keeps the schema for bench-content.ts.

  -h, --help   print this text`);

/** Display name → LIKE patterns of its MovieLens title (articles moved to the end, original titles). */
const WELL_KNOWN: [string, string[]][] = [
  ['Toy Story', ['Toy Story']],
  ['Heat', ['Heat']],
  ['The Matrix', ['Matrix, The']],
  ['Inception', ['Inception']],
  ['Titanic', ['Titanic']],
  ['The Godfather', ['Godfather, The']],
  ['Finding Nemo', ['Finding Nemo']],
  ['Alien', ['Alien']],
  ['Pulp Fiction', ['Pulp Fiction']],
  ['Amélie', ['Amélie', 'Amelie (%']],
];

const QUERIES = [
  'mind-bending thriller about dreams',
  'space adventure with aliens',
  'romantic comedy in Paris',
  'animated movie for kids',
];

/** Times every embed() call, to separate model throughput from the database work of the indexer. */
class TimedEmbedder implements Embedder {
  seconds = 0;
  texts = 0;
  constructor(private readonly inner: Embedder) {}
  get provider() {
    return this.inner.provider;
  }
  get modelId() {
    return this.inner.modelId;
  }
  get dimension() {
    return this.inner.dimension;
  }
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const started = performance.now();
    const vectors = await this.inner.embed(texts);
    this.seconds += (performance.now() - started) / 1000;
    this.texts += texts.length;
    return vectors;
  }
  async dispose(): Promise<void> {
    await this.inner.dispose?.();
  }
}

interface MovieLabel {
  title: string;
  year: number | null;
  genres: string[];
}

async function labels(dataSource: DataSource, ids: number[]): Promise<Map<number, MovieLabel>> {
  const rows: (MovieLabel & { id: number })[] = await dataSource.query(
    `SELECT id, title, year, genres FROM movies WHERE id = ANY($1::int[])`,
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row]));
}

function describe(label: MovieLabel | undefined): string {
  if (!label) return '?';
  return `${label.title}${label.year ? ` (${label.year})` : ''} [${label.genres.join('|')}]`;
}

async function printResults(dataSource: DataSource, heading: string, results: ScoredMovie[]): Promise<void> {
  const names = await labels(
    dataSource,
    results.map((result) => result.movieId),
  );
  console.log(heading);
  results.forEach((result, i) =>
    console.log(`  ${i + 1}. ${result.score.toFixed(3)}  ${describe(names.get(result.movieId))}`),
  );
}

/** The most rated movie matching any of the patterns, so "Titanic" is the 1997 one. */
async function findMovie(dataSource: DataSource, patterns: string[]): Promise<number | null> {
  const rows: { id: number }[] = await dataSource.query(
    `SELECT m.id FROM movies m WHERE m.title LIKE ANY($1::text[])
      ORDER BY (SELECT count(*) FROM ratings r WHERE r.movie_id = m.id) DESC, m.id LIMIT 1`,
    [patterns],
  );
  return rows[0]?.id ?? null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      movielens: { type: 'string' },
      tmdb: { type: 'string' },
      provider: { type: 'string', default: 'use-lite' },
      workers: { type: 'string' },
      'batch-size': { type: 'string', default: '64' },
      'keep-schema': { type: 'boolean', default: false },
    },
  });
  const config = loadConfig();
  const movielensDir = values.movielens ?? config.movielensDir;
  if (!movielensDir) throw new Error('give the ml-latest-small directory with --movielens or MOVIELENS_DIR');
  const provider = values.provider as EmbedderMode;
  if (!['use-lite', 'transformers', 'auto'].includes(provider))
    throw new Error(`unknown provider ${provider}`);
  const batchSize = Number(values['batch-size']);
  const logger = createLogger(config.logLevel);

  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedDatabase({ dataDir: null, port: 0, poolSize: 4 });
    url = embedded.url;
  }
  const schema = `content_quality_${randomBytes(4).toString('hex')}`;
  const dataSource = await openDatabase({ url, poolSize: 4, schema });
  let keep = false;
  try {
    const imported = await importRelease(dataSource, movielensDir, { overviewsFile: values.tmdb ?? null });
    console.log(
      `imported ${imported.movies} movies, ${imported.ratings} ratings, ${imported.tags} tags, ` +
        `${imported.overviews} overviews into schema ${schema} in ${imported.seconds.toFixed(1)} s`,
    );

    const loadStarted = performance.now();
    const workers =
      values.workers === undefined
        ? config.embeddingWorkers
        : values.workers === 'auto'
          ? 'auto'
          : Number(values.workers);
    const embedder = new TimedEmbedder(
      await embedderFor({ ...config, embeddings: provider, embeddingWorkers: workers }, logger),
    );
    console.log(
      `model ${embedder.modelId} (${embedder.dimension}-d) loaded in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`,
    );
    let lastTenth = -1;
    const indexer = new ContentIndexer({
      dataSource,
      embedder,
      batchSize,
      logger,
      onProgress: (progress) => {
        const tenth = Math.floor(progress.fraction * 10);
        if (progress.state !== 'building' || progress.total === 0 || tenth <= lastTenth) return;
        lastTenth = tenth;
        console.error(`  ${tenth * 10}% (${progress.done}/${progress.total})`);
      },
    });
    const summary = await indexer.run();
    console.log(
      `indexed ${summary.embedded} of ${summary.total} movies in ${summary.seconds.toFixed(1)} s: ` +
        `${(summary.embedded / summary.seconds).toFixed(1)} texts/s end to end, ` +
        `${(embedder.texts / embedder.seconds).toFixed(1)} texts/s in the model alone ` +
        `(${embedder.seconds.toFixed(1)} s embedding)`,
    );

    const engine = new ContentEngine({ dataSource, indexer });
    console.log('\n== similar movies ==');
    for (const [name, patterns] of WELL_KNOWN) {
      const movieId = await findMovie(dataSource, patterns);
      if (movieId === null) {
        console.log(`${name}: not in this release`);
        continue;
      }
      const [self] = (await labels(dataSource, [movieId])).values();
      await printResults(dataSource, `${name} → ${describe(self)}`, await engine.similarMovies(movieId, 5));
    }
    console.log('\n== search ==');
    for (const query of QUERIES) {
      await printResults(dataSource, `"${query}"`, await engine.search(query, 5));
    }
    await embedder.dispose();
    keep = values['keep-schema'] && embedded === null;
    if (keep) console.log(`\nkept schema ${schema} (drop it with: DROP SCHEMA ${schema} CASCADE)`);
  } finally {
    if (!keep) await dataSource.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await dataSource.destroy();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
